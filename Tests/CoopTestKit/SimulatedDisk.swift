import CoopLedger
package import CoopSegments
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A disk in memory that can lose power: what was not synced when the power goes is lost, torn or kept at random.
///
/// A ``SegmentFileSystem`` for power-cut tests (put it in `SegmentedLog.Options.fileSystem`). It tracks, per file,
/// the bytes written and the bytes synced (`fdatasync`/`fsync`), and per directory the entries made and the entries
/// synced (a directory `fsync`). At a power cut (``cutPower()``, or armed with ``cutPower(afterMutations:)`` to
/// happen at a chosen write, sync, create, rename or removal) it keeps, per file, the synced bytes plus a random
/// subset of the unsynced ones in 512-byte sectors — each sector independently, so a later sector may survive
/// while an earlier one is lost, and a lost sector reads as what was synced there before (zeros past the synced
/// end) — and a file length anywhere between the synced and the written one; per directory, each entry created,
/// renamed or removed since the last directory sync independently survives or not (a created file whose directory
/// was not synced may vanish). Everything that survives is then durable. After a cut every call fails with `EIO`
/// (the process is dead) until ``powerOn()``; descriptors and locks from before the cut stay dead.
///
/// **Threading.** `Sendable`; every call takes one lock, so it may be used from any thread. Random choices come
/// from the seed, so a run that makes the same calls in the same order is repeated exactly.
package final class SimulatedDisk: SegmentFileSystem {
    /// A kind of call, for ``injectFailure(_:)``.
    package enum Operation: Hashable, Sendable {
        case open, read, write, sync, truncate, directorySync, makeDirectory, rename, unlink
    }

    private struct Node {
        var isDirectory: Bool
        var data: [UInt8] = []
        var synced: [UInt8] = []
        var entries: [String: Int] = [:]
        var syncedEntries: [String: Int] = [:]
    }

    private struct Descriptor {
        var node: Int
        var generation: Int
    }

    private struct State {
        var nodes: [Int: Node] = [0: Node(isDirectory: true)]
        var descriptors: [Int32: Descriptor] = [:]
        var locks: [Int: Int32] = [:]
        var nextNode = 1
        var nextDescriptor: Int32 = 3
        var generation = 0
        var poweredOn = true
        var mutations = 0
        var cutAt: Int?
        var cuts = 0
        var random: SplitMix64
        var failure: (@Sendable (Operation, String) -> Int32?)?
    }

    private let state: Mutex<State>

    /// An empty disk holding only the root directory `/`, already durable.
    package init(seed: UInt64) {
        state = Mutex(State(random: SplitMix64(seed: seed)))
    }

    // MARK: Power

    /// Cuts the power now.
    package func cutPower() {
        state.withLock { Self.cut(&$0) }
    }

    /// Cuts the power just before the `n`th mutating call from now (1: the next one), which then fails with `EIO`.
    package func cutPower(afterMutations n: Int) {
        state.withLock { $0.cutAt = $0.mutations + max(1, n) }
    }

    /// Disarms a cut armed with ``cutPower(afterMutations:)`` that has not happened.
    package func disarm() {
        state.withLock { $0.cutAt = nil }
    }

    /// Whether the power is on (false after a cut until ``powerOn()``).
    package var isPoweredOn: Bool {
        state.withLock { $0.poweredOn }
    }

    /// How many power cuts happened.
    package var cuts: Int {
        state.withLock { $0.cuts }
    }

    /// Turns the power back on: a new "boot", with no open descriptors or locks.
    package func powerOn() {
        state.withLock { $0.poweredOn = true }
    }

    /// Makes calls fail: `failure` is called with each call's kind and path and returns an `errno` to fail it
    /// (nothing is done then), or nil. Pass nil to stop.
    package func injectFailure(_ failure: (@Sendable (Operation, String) -> Int32?)?) {
        state.withLock { $0.failure = failure }
    }

    /// The bytes of the file at `path` as written (not only synced), or nil.
    package func contents(of path: String) -> [UInt8]? {
        state.withLock { state in
            guard let node = Self.resolve(path, in: state), let file = state.nodes[node], !file.isDirectory else {
                return nil
            }
            return file.data
        }
    }

    private static func cut(_ state: inout State) {
        for id in Array(state.nodes.keys).sorted() {
            var node = state.nodes[id]!
            if node.isDirectory {
                var entries = node.syncedEntries
                for name in Set(node.entries.keys).union(node.syncedEntries.keys).sorted()
                where node.entries[name] != node.syncedEntries[name] && Bool.random(using: &state.random) {
                    entries[name] = node.entries[name]
                }
                node.entries = entries
                node.syncedEntries = entries
            } else if node.data != node.synced {
                node.data = torn(written: node.data, synced: node.synced, random: &state.random)
                node.synced = node.data
            }
            state.nodes[id] = node
        }
        state.descriptors = [:]
        state.locks = [:]
        state.generation += 1
        state.poweredOn = false
        state.cutAt = nil
        state.cuts += 1
    }

    /// What a power cut leaves of a file: per 512-byte sector either the written or the synced bytes.
    private static func torn(written: [UInt8], synced: [UInt8], random: inout SplitMix64) -> [UInt8] {
        let shorter = min(written.count, synced.count)
        let longer = max(written.count, synced.count)
        let length: Int
        switch Int.random(in: 0..<3, using: &random) {
        case 0: length = synced.count
        case 1: length = written.count
        default: length = Int.random(in: shorter...longer, using: &random)
        }
        var result = [UInt8](repeating: 0, count: length)
        let sector = 512
        var start = 0
        while start < length {
            let end = min(start + sector, length)
            func byte(_ bytes: [UInt8], _ i: Int) -> UInt8 { i < bytes.count ? bytes[i] : 0 }
            let differs = (start..<end).contains { byte(written, $0) != byte(synced, $0) }
            let source = differs && Bool.random(using: &random) ? written : synced
            for i in start..<end { result[i] = byte(source, i) }
            start = end
        }
        return result
    }

    // MARK: SegmentFileSystem

    package func openFile(_ path: String, _ mode: FileOpenMode) throws(LogError) -> Int32 {
        try state.withLock { (state) throws(LogError) -> Int32 in
            try Self.check(&state, .open, path, call: "open", mutating: mode.create || mode.truncate)
            var node = Self.resolve(path, in: state)
            if let existing = node {
                if mode.create && mode.exclusive { throw .system("open", path: path, errno: EEXIST) }
                if state.nodes[existing]!.isDirectory && mode.write {
                    throw .system("open", path: path, errno: EISDIR)
                }
            } else {
                guard mode.create, let (parent, name) = Self.resolveParent(path, in: state) else {
                    throw .system("open", path: path, errno: ENOENT)
                }
                let id = state.nextNode
                state.nextNode += 1
                state.nodes[id] = Node(isDirectory: false)
                state.nodes[parent]!.entries[name] = id
                node = id
            }
            if mode.truncate { state.nodes[node!]!.data = [] }
            let fd = state.nextDescriptor
            state.nextDescriptor += 1
            state.descriptors[fd] = Descriptor(node: node!, generation: state.generation)
            return fd
        }
    }

    package func closeFile(_ fd: Int32) {
        state.withLock { state in
            guard let descriptor = state.descriptors.removeValue(forKey: fd) else { return }
            if state.locks[descriptor.node] == fd { state.locks[descriptor.node] = nil }
        }
    }

    package func pwriteAll(
        _ fd: Int32,
        _ bytes: UnsafeRawBufferPointer,
        at offset: UInt64,
        path: String
    ) throws(LogError) {
        try state.withLock { (state) throws(LogError) in
            let node = try Self.descriptor(fd, in: &state, .write, path, call: "pwrite", mutating: true)
            let start = Int(offset)
            var data = state.nodes[node]!.data
            if data.count < start + bytes.count {
                data += [UInt8](repeating: 0, count: start + bytes.count - data.count)
            }
            data.replaceSubrange(start..<start + bytes.count, with: bytes)
            state.nodes[node]!.data = data
        }
    }

    package func preadFully(
        _ fd: Int32,
        into buffer: UnsafeMutableRawBufferPointer,
        at offset: UInt64,
        path: String
    ) throws(LogError) -> Int {
        try state.withLock { (state) throws(LogError) -> Int in
            let node = try Self.descriptor(fd, in: &state, .read, path, call: "pread", mutating: false)
            let data = state.nodes[node]!.data
            let start = Int(offset)
            guard start < data.count else { return 0 }
            let count = min(buffer.count, data.count - start)
            data.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + start, byteCount: count)
            }
            return count
        }
    }

    package func dataSync(_ fd: Int32, path: String) throws(LogError) {
        try sync(fd, path: path, call: "fdatasync")
    }

    package func fullSync(_ fd: Int32, path: String) throws(LogError) {
        try sync(fd, path: path, call: "fsync")
    }

    private func sync(_ fd: Int32, path: String, call: String) throws(LogError) {
        try state.withLock { (state) throws(LogError) in
            let node = try Self.descriptor(fd, in: &state, .sync, path, call: call, mutating: true)
            if state.nodes[node]!.isDirectory {
                state.nodes[node]!.syncedEntries = state.nodes[node]!.entries
            } else {
                state.nodes[node]!.synced = state.nodes[node]!.data
            }
        }
    }

    package func truncate(_ fd: Int32, to length: UInt64, path: String) throws(LogError) {
        try state.withLock { (state) throws(LogError) in
            let node = try Self.descriptor(fd, in: &state, .truncate, path, call: "ftruncate", mutating: true)
            var data = state.nodes[node]!.data
            if data.count > Int(length) {
                data.removeSubrange(Int(length)...)
            } else {
                data += [UInt8](repeating: 0, count: Int(length) - data.count)
            }
            state.nodes[node]!.data = data
        }
    }

    package func fileSize(_ fd: Int32, path: String) throws(LogError) -> UInt64 {
        try state.withLock { (state) throws(LogError) -> UInt64 in
            let node = try Self.descriptor(fd, in: &state, .read, path, call: "fstat", mutating: false)
            return UInt64(state.nodes[node]!.data.count)
        }
    }

    package func isDirectory(_ path: String) throws(LogError) -> Bool {
        try state.withLock { (state) throws(LogError) -> Bool in
            try Self.check(&state, .read, path, call: "stat", mutating: false)
            guard let node = Self.resolve(path, in: state) else { return false }
            guard state.nodes[node]!.isDirectory else {
                throw LogError(code: .invalidArgument, message: "\(path) exists but is not a directory", path: path)
            }
            return true
        }
    }

    package func makeDirectory(_ path: String) throws(LogError) {
        try state.withLock { (state) throws(LogError) in
            try Self.check(&state, .makeDirectory, path, call: "mkdir", mutating: true)
            if Self.resolve(path, in: state) != nil { return }
            guard let (parent, name) = Self.resolveParent(path, in: state) else {
                throw .system("mkdir", path: path, errno: ENOENT)
            }
            let id = state.nextNode
            state.nextNode += 1
            state.nodes[id] = Node(isDirectory: true)
            state.nodes[parent]!.entries[name] = id
        }
        try syncDirectory(Syscall.parent(of: path))
    }

    package func syncDirectory(_ path: String) throws(LogError) {
        try state.withLock { (state) throws(LogError) in
            try Self.check(&state, .directorySync, path, call: "fsync", mutating: true)
            guard let node = Self.resolve(path, in: state), state.nodes[node]!.isDirectory else {
                throw .system("open", path: path, errno: ENOENT)
            }
            state.nodes[node]!.syncedEntries = state.nodes[node]!.entries
        }
    }

    package func listDirectory(_ path: String) throws(LogError) -> [String] {
        try state.withLock { (state) throws(LogError) -> [String] in
            try Self.check(&state, .read, path, call: "opendir", mutating: false)
            guard let node = Self.resolve(path, in: state), state.nodes[node]!.isDirectory else {
                throw .system("opendir", path: path, errno: ENOENT)
            }
            return state.nodes[node]!.entries.keys.sorted()
        }
    }

    package func rename(_ from: String, to: String) throws(LogError) {
        try state.withLock { (state) throws(LogError) in
            try Self.check(&state, .rename, from, call: "rename", mutating: true)
            guard let node = Self.resolve(from, in: state),
                let (fromParent, fromName) = Self.resolveParent(from, in: state),
                let (toParent, toName) = Self.resolveParent(to, in: state)
            else { throw .system("rename", path: from, errno: ENOENT) }
            state.nodes[fromParent]!.entries[fromName] = nil
            state.nodes[toParent]!.entries[toName] = node
        }
    }

    package func unlink(_ path: String) throws(LogError) {
        try state.withLock { (state) throws(LogError) in
            try Self.check(&state, .unlink, path, call: "unlink", mutating: true)
            guard Self.resolve(path, in: state) != nil, let (parent, name) = Self.resolveParent(path, in: state) else {
                throw .system("unlink", path: path, errno: ENOENT)
            }
            state.nodes[parent]!.entries[name] = nil
        }
    }

    package func lockFile(_ path: String, logDirectory: String) throws(LogError) -> Int32 {
        let fd = try openFile(path, .create)
        let locked = state.withLock { state -> Bool in
            let node = state.descriptors[fd]!.node
            if let holder = state.locks[node], state.descriptors[holder] != nil { return true }
            state.locks[node] = fd
            return false
        }
        if locked {
            closeFile(fd)
            throw .locked(logDirectory: logDirectory, path: path)
        }
        return fd
    }

    // MARK: Helpers (called with the lock held)

    /// Fails the call when the power is off, an injected failure says so, or an armed cut is due.
    private static func check(
        _ state: inout State,
        _ operation: Operation,
        _ path: String,
        call: String,
        mutating: Bool
    ) throws(LogError) {
        guard state.poweredOn else { throw .system(call, path: path, errno: EIO) }
        if mutating {
            state.mutations += 1
            if let cutAt = state.cutAt, state.mutations >= cutAt {
                cut(&state)
                throw .system(call, path: path, errno: EIO)
            }
        }
        if let failure = state.failure, let code = failure(operation, path) {
            throw .system(call, path: path, errno: code)
        }
    }

    private static func descriptor(
        _ fd: Int32,
        in state: inout State,
        _ operation: Operation,
        _ path: String,
        call: String,
        mutating: Bool
    ) throws(LogError) -> Int {
        try check(&state, operation, path, call: call, mutating: mutating)
        guard let descriptor = state.descriptors[fd], descriptor.generation == state.generation else {
            throw .system(call, path: path, errno: EBADF)
        }
        return descriptor.node
    }

    private static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init)
    }

    private static func resolve(_ path: String, in state: State) -> Int? {
        var node = 0
        for name in components(path) {
            guard let directory = state.nodes[node], directory.isDirectory, let next = directory.entries[name] else {
                return nil
            }
            node = next
        }
        return node
    }

    private static func resolveParent(_ path: String, in state: State) -> (Int, String)? {
        var names = components(path)
        guard let name = names.popLast() else { return nil }
        guard let parent = resolve("/" + names.joined(separator: "/"), in: state), state.nodes[parent]!.isDirectory
        else { return nil }
        return (parent, name)
    }
}

internal import CProtobufC

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns every C allocation made while building one protobuf-c message for packing, and frees them all at once.
///
/// Not thread-safe; lives for one encode call. Memory is zeroed, so an unset C field reads as zero/NULL.
final class Arena {
    private var allocations: [UnsafeMutableRawPointer] = []

    init() {}

    deinit {
        for p in allocations {
            free(p)
        }
    }

    func raw(_ size: Int) -> UnsafeMutableRawPointer {
        guard let p = calloc(1, max(size, 1)) else { fatalError("out of memory allocating \(size) bytes") }
        allocations.append(p)
        return p
    }

    /// A NUL-terminated copy. protobuf-c strings end at the first NUL, so callers keep NUL out of text fields.
    func string(_ s: String) -> UnsafeMutablePointer<CChar> {
        var s = s
        return s.withUTF8 { utf8 in
            let p = raw(utf8.count + 1).bindMemory(to: CChar.self, capacity: utf8.count + 1)
            if let base = utf8.baseAddress {
                UnsafeMutableRawPointer(p).copyMemory(from: base, byteCount: utf8.count)
            }
            p[utf8.count] = 0
            return p
        }
    }

    func bytes(_ b: [UInt8]) -> ProtobufCBinaryData {
        guard !b.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let p = raw(b.count).bindMemory(to: UInt8.self, capacity: b.count)
        b.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: b.count) }
        return ProtobufCBinaryData(len: b.count, data: p)
    }

    func message<M: CBacked>(_ m: M) -> UnsafeMutablePointer<M.CType> {
        let p = raw(MemoryLayout<M.CType>.stride).bindMemory(to: M.CType.self, capacity: 1)
        M.cInit(p)
        m.fill(p, arena: self)
        return p
    }

    func array<E, C>(_ elements: [E], _ convert: (E) -> C) -> UnsafeMutablePointer<C> {
        let p = raw(MemoryLayout<C>.stride * elements.count).bindMemory(to: C.self, capacity: elements.count)
        for (i, e) in elements.enumerated() {
            (p + i).initialize(to: convert(e))
        }
        return p
    }
}

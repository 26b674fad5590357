// coop-crash-child DIR [FIRST_ID] [SEGMENT_SIZE]
//
// A child process for CoopLogTests' crash test. It opens the log in DIR in durable mode and appends records forever
// from several concurrent tasks (so appends are group-committed), until it is killed. After each append returns,
// that is after the fsync that covers it, it writes the ids of the appended records to stdout, one decimal id per
// line, with write(2) so nothing sits in a buffer when SIGKILL comes.
//
// Record ids count up from FIRST_ID (default 0). A record is the id in decimal, a colon, and (id * 7919) % 300 copies
// of the letter "a" + id % 26, so records differ in size and the test can tell a whole record from garbage
// (CrashTests.expectedRecord(id:) builds the same bytes). SEGMENT_SIZE (default 32768) is small so segments fill
// and roll over while the child is being killed.
//
// coop-crash-child --store DIR ROSTER CATALOG KEYS
//
// The same, one layer up: opens a LogStore in DIR as node cq-shapingba (keys from KEYS) and writes signed entries
// (comments and progress updates) from 8 concurrent tasks; after each append returns it prints
// "SEQUENCE ENTRY-ID-HEX" on one line. StoreCrashTests checks every printed entry is in the store after SIGKILL.
//
// Exit status: 64 for bad arguments, 1 if the log cannot be opened, 2 if an append fails, 3 if stdout fails.
import CoopLedger
import CoopLog
import CoopSegments
import CoopWire
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hands out record ids; shared by the appending tasks.
final class IDSource: Sendable {
    private let next: Mutex<UInt64>

    init(first: UInt64) {
        next = Mutex(first)
    }

    /// `count` consecutive ids.
    func take(_ count: UInt64) -> Range<UInt64> {
        next.withLock { next in
            defer { next += count }
            return next..<next + count
        }
    }
}

func record(id: UInt64) -> [UInt8] {
    let letter = UInt8(ascii: "a") + UInt8(id % 26)
    return Array("\(id):".utf8) + [UInt8](repeating: letter, count: Int((id &* 7919) % 300))
}

/// Writes all of `text` to file descriptor `fd`, unbuffered.
func writeAll(_ text: String, to fd: Int32) {
    var bytes = Array(text.utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
        if n > 0 {
            done += n
        } else if n < 0 && errno == EINTR {
            continue
        } else {
            exit(3)
        }
    }
    bytes.removeAll()
}

/// Exits when the test that started this process is gone (its parent then becomes another process), so a test
/// run that dies before it kills the child never leaves it appending forever.
func exitWithParent() {
    let parent = getppid()
    Thread.detachNewThread {
        while getppid() == parent { usleep(100_000) }
        exit(0)
    }
}

exitWithParent()
let arguments = CommandLine.arguments
if arguments.count == 6 && arguments[1] == "--store" {
    await runStore(directory: arguments[2], roster: arguments[3], catalog: arguments[4], keys: arguments[5])
}
guard arguments.count >= 2, arguments.count <= 4 else {
    writeAll("usage: coop-crash-child DIR [FIRST_ID] [SEGMENT_SIZE]\n", to: 2)
    exit(64)
}
guard let firstID = arguments.count > 2 ? UInt64(arguments[2]) : 0,
    let segmentSize = arguments.count > 3 ? UInt64(arguments[3]) : 32 << 10
else {
    writeAll("coop-crash-child: FIRST_ID and SEGMENT_SIZE must be decimal numbers\n", to: 2)
    exit(64)
}

let log: SegmentedLog
do {
    log = try SegmentedLog.open(
        directory: arguments[1],
        options: SegmentedLog.Options(durability: .durable, segmentSize: segmentSize)
    )
} catch {
    writeAll("coop-crash-child: \(error)\n", to: 2)
    exit(1)
}

let ids = IDSource(first: firstID)
await withTaskGroup(of: Void.self) { [log, ids] group in
    for task in 0..<8 {
        group.addTask {
            var round = task
            while true {
                // 1, 2 or 3 records per append call.
                round += 1
                let batch = ids.take(UInt64(round % 3 + 1))
                do {
                    _ = try await log.append(batch.map { record(id: $0) })
                } catch {
                    writeAll("coop-crash-child: append failed: \(error)\n", to: 2)
                    exit(2)
                }
                writeAll(batch.map { "\($0)\n" }.joined(), to: 1)
            }
        }
    }
}

/// The `--store` mode: signed entries through a LogStore, until killed.
func runStore(directory: String, roster rosterPath: String, catalog catalogPath: String, keys: String) async -> Never {
    let store: LogStore
    do {
        let roster = try RosterBook.load(path: rosterPath)
        let catalog = try CatalogBook.load(path: catalogPath, roster: roster)
        store = try LogStore.open(
            directory: directory,
            roster: roster,
            catalog: catalog,
            identity: try NodeKeys.read(name: "cq-shapingba", from: keys)
        )
    } catch {
        writeAll("coop-crash-child: \(error)\n", to: 2)
        exit(1)
    }
    await withTaskGroup(of: Void.self) { group in
        for task in 0..<8 {
            group.addTask {
                var round = 0
                while true {
                    round += 1
                    let item = "CY-0\(task + 1)"
                    let payload: EntryBody.Payload =
                        round % 3 == 0
                        ? .statusUpdate(StatusUpdate(itemId: item, status: .inProgress, progress: UInt32(round % 100)))
                        : .comment(Comment(itemId: item, text: "task \(task) round \(round)", author: "crash test"))
                    do {
                        let result = try await store.append(payload)
                        writeAll("\(result.body.sequence) \(result.id.hex)\n", to: 1)
                    } catch {
                        writeAll("coop-crash-child: append failed: \(error)\n", to: 2)
                        exit(2)
                    }
                }
            }
        }
    }
    exit(0)
}

import Foundation

/// The files of a data directory as one fuzz input, for `fuzz-open`.
///
/// Layout: a flags byte, then files, each `[u8 kind][u32 LE length][length bytes]` (a length past the end takes
/// what is left). Kinds (`kind % 8`):
///
/// - 0: the next segment file, numbered 1, 2, 3, … in order of appearance (`log/00000001.seg`, …);
/// - 1: `checkpoint`;
/// - 2: a segment file with an explicit number: a u32 LE number, then the file's bytes;
/// - 3: another file in `log/`, its name the bytes up to the first NUL (letters, digits, `.`, `_`, `-` only;
///   at most 40 characters), then the file's bytes;
/// - other kinds are skipped.
///
/// Flags: bit 0 repairs the CRC-32C of every complete frame of every segment (walking the frames by their
/// lengths), bit 1 repairs the checkpoint's trailing CRC-32C, so that mutations get past the checksums into
/// the decoders and the replay; bit 2 asks `fuzz-open` to run the auditor too (with its Ed25519 checks a
/// run costs about fifteen). A value; pure.
public struct DataDirImage {
    public static let repairFrameChecksums: UInt8 = 1
    public static let repairCheckpointChecksum: UInt8 = 2
    public static let runAuditor: UInt8 = 4

    public var flags: UInt8 = 0
    /// Files under `log/` by name.
    public var logFiles: [(name: String, bytes: [UInt8])] = []
    public var checkpoint: [UInt8]?

    public init() {}

    /// The image of an input.
    public init(decoding input: UnsafeRawBufferPointer) {
        var cursor = InputCursor(input)
        flags = cursor.u8()
        var nextSegment: UInt32 = 1
        while !cursor.isAtEnd {
            let kind = cursor.u8() % 8
            var content = InputCursor(cursor.take(Int(cursor.u32())))
            switch kind {
            case 0:
                logFiles.append((Self.segmentName(nextSegment), Array(content.rest())))
                nextSegment &+= 1
            case 1:
                checkpoint = Array(content.rest())
            case 2:
                let number = content.u32()
                logFiles.append((Self.segmentName(number), Array(content.rest())))
            case 3:
                var name: [UInt8] = []
                while !content.isAtEnd, name.count < 40 {
                    let c = content.u8()
                    if c == 0 { break }
                    name.append(c)
                }
                let allowed = name.allSatisfy { c in
                    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E
                        || c == 0x5F || c == 0x2D
                }
                let text = String(decoding: name, as: UTF8.self)
                if allowed, !name.isEmpty, text != ".", text != "..", text != "LOCK" {
                    logFiles.append((text, Array(content.rest())))
                }
            default:
                break
            }
        }
        if flags & Self.repairFrameChecksums != 0 {
            for i in logFiles.indices where logFiles[i].name.hasSuffix(".seg") {
                Self.repairFrames(&logFiles[i].bytes)
            }
        }
        if flags & Self.repairCheckpointChecksum != 0, var bytes = checkpoint, bytes.count >= 4 {
            bytes.storeLE(ReferenceCRC32C.checksum(bytes[..<(bytes.count - 4)]), at: bytes.count - 4)
            checkpoint = bytes
        }
    }

    /// The input for segment files (segment 1 first) and a checkpoint.
    public static func encode(flags: UInt8 = 0, segments: [[UInt8]], checkpoint: [UInt8]?) -> [UInt8] {
        var out: [UInt8] = [flags]
        for segment in segments {
            out.append(0)
            out.appendLE(UInt32(segment.count))
            out += segment
        }
        if let checkpoint {
            out.append(1)
            out.appendLE(UInt32(checkpoint.count))
            out += checkpoint
        }
        return out
    }

    /// Writes the files into `directory` (which exists): `log/…` and `checkpoint`.
    public func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory + "/log", withIntermediateDirectories: true)
        for file in logFiles {
            try Data(file.bytes).write(to: URL(fileURLWithPath: directory + "/log/" + file.name))
        }
        if let checkpoint {
            try Data(checkpoint).write(to: URL(fileURLWithPath: directory + "/checkpoint"))
        }
    }

    /// `00000001.seg` for 1 (docs/LOG-FORMAT.md).
    public static func segmentName(_ number: UInt32) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".seg"
    }

    /// Rewrites the checksum of every complete frame after the 16-byte header, data and seal frames alike, until
    /// a length that is over the limit or runs past the end.
    public static func repairFrames(_ bytes: inout [UInt8]) {
        var offset = 16
        while bytes.count - offset >= 8 {
            let length = bytes.loadLE(at: offset)
            let bodyCount: Int
            if length == 0xFFFF_FFFF {
                bodyCount = 16
            } else if length <= 16 << 20 {
                bodyCount = Int(length)
            } else {
                return
            }
            let bodyStart = offset + 8
            guard bodyCount <= bytes.count - bodyStart else { return }
            let crc = ReferenceCRC32C.frameChecksum(length: length, body: bytes[bodyStart..<bodyStart + bodyCount])
            bytes.storeLE(crc, at: offset + 4)
            offset = bodyStart + bodyCount
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The error every CoopLog operation throws.
///
/// A plain value; safe to pass between threads. `code` says what kind of problem it is (codes may be added; switch
/// with a `default`). `message` names the file and byte offset wherever they are known and says what a person can
/// do about it; `path` and `offset` carry the same location for tools (the auditor shows them).
public struct LogError: Error, Sendable, CustomStringConvertible {
    /// A kind of log problem.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case io
            case corrupt
            case closed
            case failed
            case locked
            case tooLarge
            case invalidArgument
            case notAuthentic
            case refused
            case busy
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// A system call failed (the cause is a ``LogError/SystemError``). For `append`, the outcome is unknown:
        /// the records may or may not be in the log after a reopen.
        public static let io = Code(.io)
        /// The files on disk are damaged somewhere other than a torn last record; the log refuses to open.
        public static let corrupt = Code(.corrupt)
        /// The log was closed.
        public static let closed = Code(.closed)
        /// An earlier write or sync failed, so the log takes no more appends (the cause is that error). Close it and
        /// open it again: recovery finds out what reached the disk.
        public static let failed = Code(.failed)
        /// Another log object or process has the log open.
        public static let locked = Code(.locked)
        /// A record is larger than ``SegmentedLog/maxRecordSize``.
        public static let tooLarge = Code(.tooLarge)
        /// An argument or option is out of range.
        public static let invalidArgument = Code(.invalidArgument)
        /// An entry is not authentic (unknown origin, bad signature, not canonical, …); it is never stored.
        public static let notAuthentic = Code(.notAuthentic)
        /// An authentic entry or a write cannot be taken now (its chain does not fit what the log holds, the
        /// ledger's rules refuse a local write, the node has no signing key, …). The message says why.
        public static let refused = Code(.refused)
        /// Work that waits its turn (a replay of the whole log, ``ReplayGate``) found too many waiting already, or no
        /// turn came within the caller's patience. Nothing was done; try again later.
        public static let busy = Code(.busy)

        public var description: String {
            switch wrapped {
            case .io: "io"
            case .corrupt: "corrupt"
            case .closed: "closed"
            case .failed: "failed"
            case .locked: "locked"
            case .tooLarge: "tooLarge"
            case .invalidArgument: "invalidArgument"
            case .notAuthentic: "notAuthentic"
            case .refused: "refused"
            case .busy: "busy"
            }
        }
    }

    /// A failed system call and its `errno`.
    public struct SystemError: Error, Sendable, CustomStringConvertible {
        /// The name of the call (`pwrite`, `fdatasync`, …).
        public var call: String
        /// The `errno` it set.
        public var errno: Int32

        public init(call: String, errno: Int32) {
            self.call = call
            self.errno = errno
        }

        public var description: String {
            "\(call): \(String(cString: strerror(errno))) (errno \(errno))"
        }
    }

    /// What kind of problem.
    public var code: Code
    /// What went wrong and where, for a person.
    public var message: String
    /// The file concerned, if one is.
    public var path: String?
    /// The byte offset in `path` where the problem is, if known.
    public var offset: UInt64?
    /// For `.corrupt`: what is wrong, without the file, offset and advice that `message` adds.
    public var detail: String?
    /// The underlying error, if any.
    public var cause: (any Error & Sendable)?

    public init(
        code: Code,
        message: String,
        path: String? = nil,
        offset: UInt64? = nil,
        cause: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.cause = cause
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let cause {
            text += " (\(cause))"
        }
        return text
    }
}

extension LogError {
    /// A `.io` error for a failed system call with the `errno` it set (read straight after the failing call).
    package static func system(_ call: String, path: String, offset: UInt64? = nil, errno code: Int32) -> LogError {
        let cause = SystemError(call: call, errno: code)
        var message = "\(call) failed on \(path)"
        if let offset {
            message += " at byte offset \(offset)"
        }
        message += ": \(String(cString: strerror(code)))"
        return LogError(code: .io, message: message, path: path, offset: offset, cause: cause)
    }

    /// The `.locked` error for a log that another log object or process has open.
    package static func locked(logDirectory: String, path: String) -> LogError {
        LogError(
            code: .locked,
            message: "the log at \(logDirectory) is already open (\(path) is locked by this or another process); "
                + "close it there first",
            path: path
        )
    }

    /// A `.corrupt` error naming the file and, if known, the offset. `atOpen` says whether `open` found it (and
    /// so changed nothing) or a read did.
    package static func corrupt(_ what: String, path: String, offset: UInt64?, atOpen: Bool = true) -> LogError {
        var message = path
        if let offset {
            message += " at byte offset \(offset)"
        }
        message += ": \(what). "
        message +=
            atOpen
            ? "The log was not opened and nothing was changed; keep a copy of the files and inspect them (e.g. with "
                + "the auditor tool) before repairing anything."
            : "The log on disk was damaged after it was opened; stop, keep a copy of the files and inspect them."
        var error = LogError(code: .corrupt, message: message, path: path, offset: offset)
        error.detail = what
        return error
    }
}

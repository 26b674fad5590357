#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The error ``SpawnedProcess`` throws when it cannot start a child.
///
/// A plain value; safe to pass between threads. `code` says what kind of problem it is (codes may be added; switch
/// with a `default`); `message` names the executable, and the file or directory at fault when it is not the
/// executable, with the system's reason.
public struct ProcessError: Error, Sendable, CustomStringConvertible {
    /// A kind of problem.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case notFound
            case notExecutable
            case cannotOpen
            case cannotSpawn
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The executable, or the directory to start it in, is not there (`ENOENT`).
        public static let notFound = Code(.notFound)
        /// The executable is there but cannot be run: no permission, a directory, not a program (`EACCES`,
        /// `ENOEXEC`, …).
        public static let notExecutable = Code(.notExecutable)
        /// A file for a standard stream cannot be opened.
        public static let cannotOpen = Code(.cannotOpen)
        /// Anything else: out of processes, memory or descriptors, a failed pipe.
        public static let cannotSpawn = Code(.cannotSpawn)

        public var description: String {
            switch wrapped {
            case .notFound: "notFound"
            case .notExecutable: "notExecutable"
            case .cannotOpen: "cannotOpen"
            case .cannotSpawn: "cannotSpawn"
            }
        }
    }

    /// What kind of problem.
    public var code: Code
    /// What went wrong, for a person: the executable and the system's reason.
    public var message: String
    /// The executable that was to be started.
    public var executable: String
    /// The `errno` value behind it.
    public var errno: Int32

    public init(code: Code, message: String, executable: String, errno: Int32) {
        self.code = code
        self.message = message
        self.executable = executable
        self.errno = errno
    }

    /// "`what` `executable`: `strerror(errno)`".
    init(_ code: Code, _ what: String, _ executable: String, errno: Int32) {
        self.init(
            code: code,
            message: "\(what) \(executable): \(String(cString: strerror(errno)))",
            executable: executable,
            errno: errno
        )
    }

    /// The error for `posix_spawn`'s `code`: a missing executable says "not found", a missing directory names it.
    static func spawnFailed(_ executable: String, currentDirectory: String?, _ code: Int32) -> ProcessError {
        let reason = String(cString: strerror(code))
        switch code {
        case ENOENT:
            if let currentDirectory, access(currentDirectory, F_OK) != 0 {
                return ProcessError(
                    code: .notFound,
                    message: "cannot start \(executable): its directory \(currentDirectory) is not there (\(reason))",
                    executable: executable,
                    errno: code
                )
            }
            let detail = access(executable, F_OK) == 0 ? "its #! interpreter or its loader is not there" : "not found"
            return ProcessError(
                code: .notFound,
                message: "cannot start \(executable): \(detail) (\(reason))",
                executable: executable,
                errno: code
            )
        case EACCES, ENOEXEC, EISDIR, EPERM:
            return ProcessError(
                code: .notExecutable,
                message: "cannot start \(executable): not an executable program (\(reason))",
                executable: executable,
                errno: code
            )
        default:
            return ProcessError(.cannotSpawn, "cannot start", executable, errno: code)
        }
    }

    public var description: String { message }
}

import Foundation

/// A fresh directory of its own for one test, removed when the test ends. Never a fixed or shared path.
public final class TemporaryDirectory: Sendable {
    /// Absolute path of the directory.
    public let path: String

    /// Creates a new, empty, private directory (mkdtemp).
    public init(_ label: String = "coop-test") throws {
        var template = Array((NSTemporaryDirectory() + "/\(label)-XXXXXX").utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        path = String(cString: p)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Removes the directory now (it is also removed when the value is released).
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `path/name`.
    public func file(_ name: String) -> String { "\(path)/\(name)" }
}

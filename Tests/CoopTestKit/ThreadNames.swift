import Foundation

/// This process's threads, by the names the kernel shows (/proc; Linux keeps 15 bytes of a name).
public enum ThreadNames {
    /// The names of this process's threads that start with `prefix`.
    public static func named(_ prefix: String) -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { task in
            guard let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8) else {
                return nil
            }
            let name = comm.trimmingCharacters(in: .whitespacesAndNewlines)
            return name.hasPrefix(prefix) ? name : nil
        }
    }

    /// Waits up to 10 s for no thread named `prefix…` to be left; whether none is.
    public static func gone(_ prefix: String) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if named(prefix).isEmpty { return true }
            usleep(1_000)
        }
        return false
    }
}

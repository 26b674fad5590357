/// Why `coop demo` stopped: what went wrong, in words for the person watching.
struct DemoError: Error, CustomStringConvertible {
    var message: String

    init(_ message: String) { self.message = message }

    var description: String { message }
}

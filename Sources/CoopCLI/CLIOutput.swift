import ArgumentParser
import CoopLedger
import CoopLog
import CoopSegments
import CoopWire
import Foundation

/// Writing to the terminal and failing with an exit code a person can act on.
enum CLIOutput {
    /// Exit code: the input or data is invalid, or a check failed.
    static let invalid: Int32 = 1
    /// Exit code: a file could not be read or written.
    static let io: Int32 = 2
    /// Exit code: the command line is wrong (EX_USAGE, as ArgumentParser uses).
    static let usage: Int32 = 64

    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func err(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func writeBytes(_ bytes: [UInt8]) {
        FileHandle.standardOutput.write(Data(bytes))
    }

    /// Prints `error: message` to stderr and ends the command with `code`.
    static func fail(_ message: String, code: Int32 = invalid) -> ExitCode {
        err("error: " + message.replacingOccurrences(of: "\n", with: "\n  "))
        return ExitCode(code)
    }

    /// The exit for an error thrown by a CoopLedger module.
    static func fail(_ error: any Error) -> ExitCode {
        switch error {
        case let e as LedgerError: fail(e.message, code: e.code == .io ? io : invalid)
        case let e as WireError: fail(e.message)
        case let e as LogError: fail(e.message, code: e.code == .io || e.code == .locked ? io : invalid)
        default: fail("\(error)")
        }
    }

    /// `text` quoted for an error message on one line: control characters escaped, cut after 60 characters.
    static func quoted(_ text: String) -> String {
        (text.count > 60 ? String(text.prefix(60)) + "…" : text).debugDescription
    }

    /// All of standard input.
    static func readStandardInput() -> [UInt8] {
        [UInt8](FileHandle.standardInput.readDataToEndOfFile())
    }
}

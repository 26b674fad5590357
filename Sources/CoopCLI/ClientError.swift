import ArgumentParser

/// Why a client command (`coop item`, `coop call`) could not be set up or failed before or after its calls: a profile
/// that cannot be read or is wrong, a key file, an input that is not what the method takes. A plain value.
///
/// `message` names the file, key, option or type concerned; `exitCode` is one of ``CLIOutput``'s codes (a file that
/// cannot be read: 2; anything invalid: 1; a command line that is wrong: 64).
struct ClientError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32

    init(_ message: String, exitCode: Int32 = CLIOutput.invalid) {
        self.message = message
        self.exitCode = exitCode
    }

    var description: String { message }

    /// Prints `error: message` on stderr and gives the exit to throw.
    func fail() -> ExitCode { CLIOutput.fail(message, code: exitCode) }
}

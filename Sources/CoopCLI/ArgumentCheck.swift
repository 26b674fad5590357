import ArgumentParser
import CoopLedger

/// Checks of option and argument values for the commands' `validate()`. Each error names the option or argument
/// (`--roster`, `<directory>`); ArgumentParser prints it with the usage and exits 64.
enum ArgumentCheck {
    /// `value` of `name` is not "" (an empty path or id is never meant; the error it would cause names nothing).
    static func notEmpty(_ value: String?, _ name: String) throws {
        if value?.isEmpty == true { throw ValidationError("\(name) is empty") }
    }

    /// `value` of `name` is a roster member id.
    static func memberID(_ value: String, _ name: String) throws {
        guard RosterBook.isValidMemberID(value) else {
            throw ValidationError(
                "\(name) \(CLIOutput.quoted(value)) is not a roster id (1–64 of a–z, 0–9, '-', '.', starting with a "
                    + "letter)"
            )
        }
    }
}

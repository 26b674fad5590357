import CoopCLI

/// Entry point of the `coop` executable; all commands live in CoopCLI.
@main
enum CoopMain {
    static func main() async {
        await CoopCommand.mainCheckingArguments()
    }
}

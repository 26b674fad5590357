import CoopCLI

await CoopCommand.main()

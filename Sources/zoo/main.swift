import ZooCLI

ZooCommand.main()

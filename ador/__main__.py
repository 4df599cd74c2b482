from ador.cli.main import main

main()

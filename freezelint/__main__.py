from freezelint.cli import main

main()

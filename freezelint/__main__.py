from freezelint.startup import main

main()

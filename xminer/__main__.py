from xminer.cli import main

main()

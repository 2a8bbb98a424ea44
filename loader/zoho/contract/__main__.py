"""`python -m loader.zoho.contract --write|--check`: the files generated from the contract."""

from loader.zoho.contract.docs import main

raise SystemExit(main())

"""`python -m nas`: the `nas` console script (nas/commands)."""

if __name__ == "__main__":
    from nas.commands import main

    raise SystemExit(main())

"""``python -m edgefer`` (what ``torchrun -m edgefer train ...`` runs)."""

from .cli import main

if __name__ == "__main__":
    main()

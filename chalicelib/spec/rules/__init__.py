"""Rules of a spec beyond its types: each imports the model, none the loader or parser."""

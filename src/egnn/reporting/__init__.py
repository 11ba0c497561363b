"""Result records (``results/``) and the README tables generated from them."""

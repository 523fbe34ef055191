"""The figures of the BIG-MAP demonstrator (deliverable D10.1), one module per figure.

Each module has one ``run(...)`` that returns the figure's numbers as a JSON-able dictionary
and writes its PNG; ``bigmap-al reproduce NAME`` calls it. Pure numpy, scikit-learn and
matplotlib on top of the package's learning core: no AiiDA import, no profile needed.

- :mod:`.acceleration`: enhancement factor EF(n) and best-so-far curves against random;
- :mod:`.holdout`: models trained on the 15-85 % percentile of y, tested on the tails;
- :mod:`.surfaces`: predicted conductivity and std over the formulation plane;
- :mod:`.one_shot`: the top-k proposals per temperature beside the best measured formulation.
"""

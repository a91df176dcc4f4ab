"""LAE Landscapes' mathematical core: pure NumPy, no user interface.

Modules, each a set of pure functions of arrays (Kunin, Bloom, Goeva, Seed, ICML 2019):

- ``scalar``    — m = k = 1: the three losses, their gradients, Hessians and critical sets,
                  and the reference page's other modes (α power, tied vector case, low-rank
                  prediction, weight alignment).
- ``landscape`` — general m, k: losses, gradients, the Table 1 critical points, measured
                  Hessian inertia and the Landscape Theorem's predicted index.
- ``theorem``   — the Landscape Theorem for any small m, k: every critical manifold, the paper's
                  counts beside the measured Hessian's, the escape from a saddle.
- ``solvers``   — the six LAE-PCA solvers as the authors wrote them (and three variants),
                  ``lae_pca``.
- ``pca``       — LAE-PCA on data: the digits, an over-regularized construction, a visitor's
                  upload, reference SVDs, error metrics, the alignment map, the race.
- ``collapse``  — shrinkage of W₂W₁ and the decoder's singular values (posterior collapse).
- ``grassmann`` — PCA as a Morse function on the Grassmannian.

Every public function validates its arguments and raises ``ValueError`` naming the argument.
"""

from lae_core._validate import LOSSES

__all__ = ["LOSSES"]

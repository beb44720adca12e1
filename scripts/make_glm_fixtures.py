"""Write tests/fixtures/r_glm.json: R's glm, sandwich, MASS, car and brglm2 results.

    python scripts/make_glm_fixtures.py [OUT.json]

Needs Rscript with the packages sandwich, MASS, lmtest, car, brglm2, lme4 and jsonlite
(Debian: r-base-core r-cran-sandwich r-cran-mass r-cran-lmtest r-cran-car r-cran-brglm2
r-cran-lme4 r-cran-jsonlite) and statsmodels (for the star98 table, which is written
out for R). tests/test_glm_r.py calls ``run_r`` to compare with live R as well.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "r_glm_references.R"
DEFAULT_OUT = HERE.parent / "tests" / "fixtures" / "r_glm.json"


def star98_frame():
    """statsmodels' star98 table (303 California counties' test results)."""
    import statsmodels.api as sm

    return sm.datasets.star98.load_pandas().data


def run_r(out_path: Path) -> dict:
    """Run the R script into out_path and return the parsed results."""
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "star98.csv")
        star98_frame().to_csv(csv, index=False)
        subprocess.run(["Rscript", str(SCRIPT), csv, str(out_path)], check=True,
                       capture_output=True, text=True, timeout=300)
    with open(out_path) as fh:
        return json.load(fh)


def main(argv: list) -> None:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    refs = run_r(out)
    print(f"wrote {out} ({out.stat().st_size} bytes; {refs['versions']['R']})")


if __name__ == "__main__":
    main(sys.argv)

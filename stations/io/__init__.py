"""Reading and writing station files: CSV, XLSX, GeoJSON, JSON arrays and GeoPackage."""

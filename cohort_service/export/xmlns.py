"""The OOXML namespaces the writer and the package post-processor use, each declared once."""

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
# r:id attributes and the relationship types built on it (…/table, …/pivotTable).
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"  # the .rels parts
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"  # [Content_Types].xml

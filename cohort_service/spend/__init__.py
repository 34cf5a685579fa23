"""Ad spend: files in (parse, store, import), matched to leads by one dimension in the report."""

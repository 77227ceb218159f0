"""Data in and out: Excel/CSV import (`importer`), list and whole-dataset exports
(`workbook`), the JSON dump `kam restore` loads into an empty instance (`dump`), and
backup/restore of the database itself (`backup`)."""

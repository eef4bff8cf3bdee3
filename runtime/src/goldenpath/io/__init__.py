"""Reading and writing tables: the project's files, and the data source of conf/data/."""

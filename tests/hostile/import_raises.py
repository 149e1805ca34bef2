raise ImportError("this module refuses to load")

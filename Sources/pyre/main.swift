print("pyre")

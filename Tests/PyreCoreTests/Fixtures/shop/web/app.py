print("fixture app: never run, only baked in tests")

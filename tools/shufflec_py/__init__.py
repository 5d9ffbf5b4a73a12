"""Python helpers shared by shufflec's tools (golden.py, megvii_shufflenet.py, import_megvii.py).

The tools put their own folder (tools/) on sys.path and import this package from there:

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from shufflec_py import safetensors_io
"""

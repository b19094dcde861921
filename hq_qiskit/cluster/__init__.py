"""Work spread over a Dask cluster: many sheets to predict, sweeps of training runs.

    client.py   open_client: a LocalCluster of --workers processes, or --scheduler ADDRESS
    tasks.py    run_tasks: one Dask task per named item, retried once, failures collected
    mosaic.py   write_mosaic_vrt: one VRT over many single-band GeoTIFFs (no gdalbuildvrt)
    sheets.py   predict_sheets: one task per input sheet, outputs + mosaic.vrt in a folder
    sweep.py    run_sweep: one training run per task; ablation_executor: the ablation's runs

Dask (``dask[distributed]``) is imported only when a cluster is opened.
"""

__all__: list[str] = []

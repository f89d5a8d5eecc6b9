"""The ShareHub console: pages and charts of the hub's state, served inside the Airflow UI.

:mod:`hub.console.data` reads the figures from the store (reusing the queries of ``hub status``,
the quality report, the push and 效能监管 reports), :mod:`hub.console.charts` turns them into plotly
figures, :mod:`hub.console.app` serves the pages and the offline assets, and
``plugins/sharehub_console.py`` registers the app with Airflow.
"""

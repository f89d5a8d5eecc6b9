"""医保局 medical insurance simulator: daily GBK CSV files with .ok markers in an inbox."""

"""Where and how torch runs: the device and CPU threads (`device`), matmul precision
(`precision`), memory given back between phases (`memory`), the processes of a torchrun launch
(`distributed`; `launch`: whether torchrun started this process, without torch), and the lines commands print above progress bars (`console`).

May import: the base (haan.errors, haan.config, haan.fileio). Everything above may import it.
"""

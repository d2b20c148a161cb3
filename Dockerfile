# CoE Assistant: CPU-only image that serves Slack (`coe serve`) with the knowledge base
# ingested at build time, so a container answers from its first request.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    COE_DATA_DIR=/data

# git: for `type: git` sources (sources.yaml), which clone with the real git.
RUN apt-get update && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 coe
WORKDIR /app

# CPU build of torch from PyTorch's CPU index; the default index would bring CUDA (GBs).
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY ingest ./ingest
COPY knowledge ./knowledge
RUN pip install . && rm -rf /app/bot /app/ingest

RUN mkdir -p /data && chown coe:coe /data
USER coe
RUN python -m ingest.onnx_embedding && coe ingest

VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz')"
ENTRYPOINT ["coe"]
CMD ["serve", "--port", "3000"]

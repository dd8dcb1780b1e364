FROM python:3.11-slim
WORKDIR /app
# CPU build of torch first: an unpinned torch pulls a multi-GB CUDA build.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY app ./app
COPY embeddings ./embeddings
COPY segmentation ./segmentation
COPY prediction ./prediction
COPY profiles ./profiles
RUN pip install --no-cache-dir . && pip install --no-cache-dir --no-deps recbole==1.2.1 lifetimes==0.11.3
ENV HF_HUB_OFFLINE=1
EXPOSE 8000
CMD ["profile-ai", "serve", "--host", "0.0.0.0", "--port", "8000"]

# The Wistia API simulator of docker-compose.yaml (stdlib + requests only).
FROM python:3.12.8-slim-bookworm

RUN pip install --no-cache-dir requests==2.34.2
WORKDIR /app
# include/ is mounted by docker-compose.yaml.
ENV PYTHONPATH=/app/include
EXPOSE 8787

# The load balancer of docker/compose.yaml: Debian's nginx with
# docker/nginx.conf (two cpqd instances, cpqd1 and cpqd2, on port 8080).
FROM debian:12
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends nginx-light \
 && rm -rf /var/lib/apt/lists/*
COPY docker/nginx.conf /etc/nginx/nginx.conf
EXPOSE 8080
CMD ["nginx", "-g", "daemon off;"]

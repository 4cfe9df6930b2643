# The real builder's build image: busybox on scratch with the user the lifecycle drops to.
# Built by tests/support/real_builder.rs (DOCKER_BUILDKIT=0) from a context holding this file
# and a copy of /bin/busybox (busybox-static); `pack builder create` adds the lifecycle, the
# buildpack, order.toml, run.toml, stack.toml and the builder labels.
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /tmp /etc /home/cnb && chmod 1777 /tmp \
 && echo "root:x:0:0:root:/root:/bin/sh" > /etc/passwd \
 && echo "cnb:x:1000:1001:cnb:/home/cnb:/bin/sh" >> /etc/passwd \
 && echo "root:x:0:" > /etc/group && echo "cnb:x:1001:" >> /etc/group \
 && chown 1000:1001 /home/cnb \
 && printf 'ID=busybox\nVERSION_ID=1\n' > /etc/os-release
ENV CNB_USER_ID=1000 CNB_GROUP_ID=1001 PATH=/bin
LABEL io.buildpacks.stack.id=io.buildpacks.stacks.cnbtest \
      io.buildpacks.base.distro.name=busybox io.buildpacks.base.distro.version=1
USER 1000:1001

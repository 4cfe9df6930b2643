# The real builder's run image: busybox on scratch (the app's process is a shell script).
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /tmp /etc && chmod 1777 /tmp \
 && echo "root:x:0:0:root:/root:/bin/sh" > /etc/passwd \
 && echo "cnb:x:1000:1001:cnb:/home/cnb:/bin/sh" >> /etc/passwd \
 && echo "root:x:0:" > /etc/group && echo "cnb:x:1001:" >> /etc/group \
 && printf 'ID=busybox\nVERSION_ID=1\n' > /etc/os-release
ENV PATH=/bin
LABEL io.buildpacks.stack.id=io.buildpacks.stacks.cnbtest \
      io.buildpacks.base.distro.name=busybox io.buildpacks.base.distro.version=1
USER 1000:1001

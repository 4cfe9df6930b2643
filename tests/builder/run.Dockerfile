# The stand-in run image: busybox on scratch, labelled like a run image.
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /etc /tmp && chmod 1777 /tmp \
 && echo "root:x:0:0:root:/root:/bin/sh" > /etc/passwd \
 && echo "cnb:x:1000:1001:cnb:/home/cnb:/bin/sh" >> /etc/passwd \
 && echo "root:x:0:" > /etc/group && echo "cnb:x:1001:" >> /etc/group
ENV PATH=/bin

"""A small web service around :class:`OrtSegmentor`: ``tools/serve.py``.

``python tools/serve.py MODEL.onnx --port 8000 [--host 127.0.0.1]
[--max-upload-mb 10] [--max-pixels 24000000] [--max-concurrent 2]``

Routes:

- ``GET /``: one self-contained HTML page (inline CSS and JavaScript, no
  CDN, works offline). The user picks an image; the page uploads it with
  ``fetch`` and shows the image, the colour overlay and the share of each
  class with its colour, or the server's error message.
- ``POST /predict``: the image in the body, either raw (``Content-Type:
  image/png``, ``image/jpeg``, ``image/bmp`` or ``image/webp``) or as the
  field ``image`` of a ``multipart/form-data`` body. Answers JSON
  ``{"width", "height", "model", "inference_ms", "classes": [{"id",
  "name", "color": [r, g, b], "pixels", "share"}], "overlay_png_base64"}``
  (``?overlay=0`` leaves the overlay out).
- ``POST /predict.png``: same body; answers the class-id mask as a
  single-channel uint8 PNG (uint16 above 256 classes; ``?overlay=1``: the
  colour overlay instead).
- ``GET /health``: ``{"status": "ok", "model", "max_upload_bytes",
  "max_pixels"}``.
- ``GET /metadata``: the model's ``mmseg_ext`` metadata (classes, palette,
  preprocessing) as stored in the ONNX file.

Every error is JSON ``{"error": MESSAGE, "status": CODE}``: 400 bad
request or not an image, 404 unknown path, 405 wrong method, 411 no
``Content-Length``, 413 body larger than ``--max-upload-mb`` (refused from
the header, before anything is read) or image larger than
``--max-pixels`` (refused from the image header, before decoding), 415
wrong ``Content-Type`` or an image format other than PNG, JPEG, BMP and
WebP, 503 all ``--max-concurrent`` prediction slots busy for too long.
The server goes on serving after any of them.

Why the standard library's :mod:`http.server` and no web framework: the
service has five routes, one upload and no sessions, and the deployment
runtime's point is to need nothing beyond ``numpy``, ``opencv`` and
``onnxruntime`` (see ``mmseg_ext_deploy``). ``ThreadingHTTPServer`` serves
requests in threads (``onnxruntime`` sessions are thread-safe and release
the GIL), multipart bodies are parsed with :mod:`email` (not the
deprecated ``cgi`` module), and the limits above bound the memory of each
request. For TLS, authentication or many clients, put it behind a reverse
proxy (nginx, Caddy); binding to 127.0.0.1 is the default.
"""
import argparse
import base64
import email.parser
import email.policy
import json
import logging
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np

__all__ = [
    'ACCEPTED_TYPES', 'RequestError', 'SegmentationService', 'image_size',
    'make_server', 'page_html', 'build_parser', 'main'
]

logger = logging.getLogger(__name__)

#: ``Content-Type`` values accepted for a raw image body (and for the
#: ``image`` part of a multipart body, with ``application/octet-stream``,
#: which browsers send for files of unknown type).
ACCEPTED_TYPES = ('image/png', 'image/jpeg', 'image/bmp', 'image/webp')
_FORMAT_NAMES = 'PNG, JPEG, BMP or WebP'
_MULTIPART = 'multipart/form-data'
_ROUTES = {
    '/': ('GET', 'HEAD'),
    '/health': ('GET', 'HEAD'),
    '/metadata': ('GET', 'HEAD'),
    '/predict': ('POST', ),
    '/predict.png': ('POST', ),
}


class RequestError(Exception):
    """A request the server refuses: answered with ``status`` and a JSON
    ``{"error": message}`` body.

    Args:
        status (int): The HTTP status code (4xx or 5xx).
        message (str): What was wrong, for the user.
        headers (dict, optional): Extra response headers (``Allow``).
    """

    def __init__(self,
                 status: int,
                 message: str,
                 headers: Optional[Dict[str, str]] = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _jpeg_size(data: bytes) -> Optional[Tuple[int, int]]:
    """``(width, height)`` from the first SOF marker of a JPEG."""
    i, n = 2, len(data)
    while i + 9 < n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack('>HH', data[i + 5:i + 9])
            return width, height
        length = struct.unpack('>H', data[i + 2:i + 4])[0]
        if length < 2:
            return None
        i += 2 + length
    return None


def image_size(data: bytes) -> Optional[Tuple[str, int, int]]:
    """Read the format and size of an image from its header, without
    decoding it.

    Args:
        data (bytes): The encoded image.

    Returns:
        tuple[str, int, int] | None: ``(format, width, height)`` with format
        one of ``'png'``, ``'jpeg'``, ``'bmp'``, ``'webp'``; None when the
        bytes are none of these formats or the header is unreadable.
    """
    try:
        if data[:8] == b'\x89PNG\r\n\x1a\n' and data[12:16] == b'IHDR':
            width, height = struct.unpack('>II', data[16:24])
            return 'png', width, height
        if data[:3] == b'\xff\xd8\xff':
            size = _jpeg_size(data)
            return ('jpeg', *size) if size else None
        if data[:2] == b'BM':
            header = struct.unpack('<I', data[14:18])[0]
            if header == 12:
                width, height = struct.unpack('<HH', data[18:22])
            else:
                width, height = struct.unpack('<ii', data[18:26])
            return 'bmp', abs(width), abs(height)
        if data[:4] == b'RIFF' and data[8:12] == b'WEBP':
            chunk = data[12:16]
            if chunk == b'VP8 ':
                width, height = struct.unpack('<HH', data[26:30])
                return 'webp', width & 0x3FFF, height & 0x3FFF
            if chunk == b'VP8L':
                bits = struct.unpack('<I', data[21:25])[0]
                return 'webp', (bits & 0x3FFF) + 1, ((bits >> 14)
                                                     & 0x3FFF) + 1
            if chunk == b'VP8X':
                width = int.from_bytes(data[24:27], 'little') + 1
                height = int.from_bytes(data[27:30], 'little') + 1
                return 'webp', width, height
    except struct.error:
        return None
    return None


def _media_type(value: Optional[str]) -> str:
    """The lower-case ``type/subtype`` of a ``Content-Type`` value."""
    return (value or '').split(';', 1)[0].strip().lower()


def _image_from_multipart(body: bytes, content_type: str) -> bytes:
    """The bytes of the ``image`` field of a ``multipart/form-data`` body,
    parsed with :mod:`email` (the standard library's MIME parser)."""
    head = f'Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n'
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        head.encode('latin-1') + body)
    if not message.is_multipart() or message.defects:
        raise RequestError(
            400, 'malformed multipart/form-data body (no boundary, or the '
            'parts could not be parsed)')
    for part in message.iter_parts():
        if part.get_param('name', header='content-disposition') != 'image':
            continue
        part_type = part.get_content_type()
        if part_type not in ACCEPTED_TYPES + ('application/octet-stream', ):
            raise RequestError(
                415, f'the "image" field has type {part_type!r}; send one '
                f'of {", ".join(ACCEPTED_TYPES)}')
        return part.get_payload(decode=True) or b''
    raise RequestError(
        400, 'multipart/form-data body without an "image" field')


class SegmentationService:
    """What the HTTP handler calls: checks and decodes uploads, predicts,
    formats the answers.

    Args:
        segmentor: An :class:`mmseg_ext_deploy.OrtSegmentor` (used:
            ``metadata``, ``predict(img_bgr).mask`` and
            ``overlay(img_bgr, mask, opacity)``).
        max_upload_bytes (int): Largest request body accepted.
        max_pixels (int): Largest image (width x height) accepted.
        max_concurrent (int): Predictions run at the same time; further
            requests wait up to ``queue_timeout`` seconds, then get a 503.
        queue_timeout (float): See ``max_concurrent``.
        opacity (float): Weight of the class colours in the overlay.
    """

    def __init__(self,
                 segmentor: Any,
                 max_upload_bytes: int = 10 * 2**20,
                 max_pixels: int = 24_000_000,
                 max_concurrent: int = 2,
                 queue_timeout: float = 30.0,
                 opacity: float = 0.5) -> None:
        if max_upload_bytes <= 0 or max_pixels <= 0 or max_concurrent <= 0:
            raise ValueError('max_upload_bytes, max_pixels and '
                             'max_concurrent must be positive')
        self.segmentor = segmentor
        self.metadata: Dict[str, Any] = dict(segmentor.metadata)
        self.classes: List[str] = list(self.metadata['classes'])
        self.palette: List[List[int]] = [
            [int(c) for c in color] for color in self.metadata['palette']
        ]
        self.max_upload_bytes = int(max_upload_bytes)
        self.max_pixels = int(max_pixels)
        self.queue_timeout = queue_timeout
        self.opacity = opacity
        self._slots = threading.BoundedSemaphore(max_concurrent)

    # -- requests --------------------------------------------------------
    def check_body(self, content_type: Optional[str],
                   content_length: Optional[str],
                   chunked: bool) -> int:
        """Check an upload's headers before its body is read.

        Returns:
            int: The number of body bytes to read.

        Raises:
            RequestError: 411, 400, 413 or 415.
        """
        media = _media_type(content_type)
        if media not in ACCEPTED_TYPES and media != _MULTIPART:
            shown = repr(content_type) if content_type else 'no Content-Type'
            raise RequestError(
                415, f'unsupported Content-Type ({shown}); send the image '
                f'as the body with Content-Type {", ".join(ACCEPTED_TYPES)}'
                f', or as the field "image" of {_MULTIPART}')
        if content_length is None:
            what = ('chunked transfer encoding is not supported'
                    if chunked else 'the request has no Content-Length')
            raise RequestError(411, f'{what}; send a Content-Length header')
        try:
            length = int(content_length)
        except ValueError:
            length = -1
        if length < 0:
            raise RequestError(
                400, f'invalid Content-Length {content_length!r}')
        if length > self.max_upload_bytes:
            raise RequestError(
                413, f'upload of {length} bytes is larger than the limit '
                f'of {self.max_upload_bytes} bytes '
                f'({self.max_upload_bytes / 2**20:g} MiB)')
        if length == 0:
            raise RequestError(400, 'empty body: no image uploaded')
        return length

    def decode(self, body: bytes, content_type: str) -> np.ndarray:
        """Decode the uploaded image.

        Args:
            body (bytes): The request body.
            content_type (str): Its ``Content-Type``.

        Returns:
            np.ndarray: The image, (H, W, 3) uint8 BGR.

        Raises:
            RequestError: 400 (not an image), 413 (too many pixels), 415.
        """
        if _media_type(content_type) == _MULTIPART:
            body = _image_from_multipart(body, content_type)
        info = image_size(body)
        if info is None:
            raise RequestError(
                400, f'the upload is not a {_FORMAT_NAMES} image (its first '
                'bytes match none of these formats)')
        fmt, width, height = info
        if width * height > self.max_pixels:
            raise RequestError(
                413, f'image of {width}x{height} = {width * height} pixels '
                f'is larger than the limit of {self.max_pixels} pixels')
        image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        if image is None or image.size == 0:
            raise RequestError(
                400, f'the upload looks like {fmt.upper()} but could not be '
                'decoded (truncated or corrupt file?)')
        if image.shape[0] * image.shape[1] > self.max_pixels:
            raise RequestError(
                413, f'image of {image.shape[1]}x{image.shape[0]} pixels is '
                f'larger than the limit of {self.max_pixels} pixels')
        return image

    def predict(self, image: np.ndarray) -> Tuple[np.ndarray, float]:
        """Predict a mask in one of the ``max_concurrent`` slots.

        Returns:
            tuple[np.ndarray, float]: The (H, W) class-id mask (uint8,
            uint16 above 256 classes) and the time the model took, in
            milliseconds.
        """
        if not self._slots.acquire(timeout=self.queue_timeout):
            raise RequestError(
                503, 'the server is busy with other predictions; retry '
                'later', {'Retry-After': '5'})
        try:
            start = time.perf_counter()
            mask = np.asarray(self.segmentor.predict(image).mask)
            return mask, (time.perf_counter() - start) * 1000
        finally:
            self._slots.release()

    def overlay(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The class colours over the image, (H, W, 3) uint8 BGR."""
        return self.segmentor.overlay(image, mask, opacity=self.opacity)

    def result(self, image: np.ndarray, mask: np.ndarray, inference_ms: float,
               with_overlay: bool) -> Dict[str, Any]:
        """The JSON answer of ``POST /predict``."""
        counts = self.segmentor.class_counts(mask)
        total = max(int(mask.size), 1)
        classes = [
            dict(
                id=i,
                name=name,
                color=self.palette[i],
                pixels=int(counts[i]),
                share=round(int(counts[i]) / total, 6))
            for i, name in enumerate(self.classes)
        ]
        answer: Dict[str, Any] = dict(
            width=int(image.shape[1]),
            height=int(image.shape[0]),
            model=self.metadata.get('model'),
            inference_ms=round(inference_ms, 2),
            classes=classes)
        if with_overlay:
            answer['overlay_png_base64'] = base64.b64encode(
                encode_png(self.overlay(image, mask))).decode('ascii')
        return answer

    def health(self) -> Dict[str, Any]:
        """The JSON answer of ``GET /health``."""
        return dict(
            status='ok',
            model=self.metadata.get('model'),
            classes=len(self.classes),
            max_upload_bytes=self.max_upload_bytes,
            max_pixels=self.max_pixels)


def encode_png(image: np.ndarray) -> bytes:
    """Encode an image as PNG (fast compression)."""
    ok, buffer = cv2.imencode('.png', image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError('PNG encoding failed')
    return buffer.tobytes()


def _flag(query: Dict[str, List[str]], name: str, default: bool) -> bool:
    """A boolean query parameter (``1/0``, ``true/false``, ``yes/no``)."""
    values = query.get(name)
    if not values:
        return default
    value = values[-1].strip().lower()
    if value in ('1', 'true', 'yes', 'on'):
        return True
    if value in ('0', 'false', 'no', 'off'):
        return False
    raise RequestError(400, f'query parameter {name}={values[-1]!r} is '
                       'not a boolean (use 1 or 0)')


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the server's :class:`SegmentationService`."""

    server_version = 'mmseg_ext_deploy'
    sys_version = ''
    protocol_version = 'HTTP/1.1'
    timeout = 30  # seconds a client may take to send its request

    @property
    def service(self) -> SegmentationService:
        return self.server.service  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.info('%s %s', self.address_string(), format % args)

    # -- responses -------------------------------------------------------
    def _send(self,
              status: int,
              body: bytes,
              content_type: str,
              headers: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Cache-Control', 'no-store')
        self.send_header('X-Content-Type-Options', 'nosniff')
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header('Connection', 'close')
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def _send_json(self, status: int, obj: Any,
                   headers: Optional[Dict[str, str]] = None) -> None:
        self._send(status,
                   json.dumps(obj).encode('utf-8'), 'application/json',
                   headers)

    def _send_error(self, error: RequestError) -> None:
        # A body left unread would be parsed as the next request: read a
        # small one and keep the connection, else answer and close.
        unread = self._unread_length()
        if 0 < unread <= self.service.max_upload_bytes:
            self._discard(unread)
        elif unread:
            self.close_connection = True
        self._send_json(error.status,
                        dict(error=error.message, status=error.status),
                        error.headers)
        if self.close_connection and unread and not self._body_read:
            self._linger()

    def _unread_length(self) -> int:
        """Bytes of request body not yet read; -1 when unknown (chunked,
        invalid Content-Length)."""
        if self._body_read:
            return 0
        if 'Transfer-Encoding' in self.headers:
            return -1
        try:
            return max(int(self.headers.get('Content-Length', '0')), -1)
        except ValueError:
            return -1

    def _discard(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 2**16))
            if not chunk:
                self.close_connection = True
                return
            length -= len(chunk)
        self._body_read = True

    def _linger(self, seconds: float = 2.0, limit: int = 2**26) -> None:
        """Half-close, then read what the client still sends for a moment,
        so that closing with unread data does not reset the connection
        before the client has read the error (Apache's lingering close)."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + seconds
            while limit > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.connection.settimeout(left)
                chunk = self.connection.recv(2**16)
                if not chunk:
                    break
                limit -= len(chunk)
        except OSError:
            pass

    # -- dispatch --------------------------------------------------------
    _body_read = False

    def handle_expect_100(self) -> bool:
        # ``Expect: 100-continue`` (curl sends it for bodies over 1 MiB):
        # refuse from the headers before the client sends the body
        if urlsplit(self.path).path in ('/predict', '/predict.png'):
            try:
                self.service.check_body(
                    self.headers.get('Content-Type'),
                    self.headers.get('Content-Length'), 'Transfer-Encoding'
                    in self.headers)
            except RequestError as error:
                self._body_read = True  # the client holds the body back
                self.close_connection = True
                self._send_error(error)
                return False
        return super().handle_expect_100()

    def _dispatch(self) -> None:
        self._body_read = False
        try:
            url = urlsplit(self.path)
            allowed = _ROUTES.get(url.path)
            if allowed is None:
                raise RequestError(404, f'no such path: {url.path}; see GET '
                                   '/ for the page, POST /predict for JSON')
            if self.command not in allowed:
                raise RequestError(
                    405, f'{self.command} is not allowed on {url.path}; use '
                    f'{" or ".join(allowed)}', {'Allow': ', '.join(allowed)})
            query = parse_qs(url.query)
            if url.path == '/':
                self._send(200, page_html(self.service).encode('utf-8'),
                           'text/html; charset=utf-8', {
                               'Content-Security-Policy': _PAGE_CSP
                           })
            elif url.path == '/health':
                self._send_json(200, self.service.health())
            elif url.path == '/metadata':
                self._send_json(200, self.service.metadata)
            else:
                self._predict(url.path, query)
        except RequestError as error:
            self._send_error(error)
        except Exception:  # noqa: BLE001 - keep serving, log the trace
            logger.exception('error while serving %s %s', self.command,
                             self.path)
            self._send_error(RequestError(
                500, 'internal error while predicting; see the server log'))

    def _predict(self, path: str, query: Dict[str, List[str]]) -> None:
        service = self.service
        with_overlay = _flag(query, 'overlay', path == '/predict')
        content_type = self.headers.get('Content-Type', '')
        length = service.check_body(
            self.headers.get('Content-Type'),
            self.headers.get('Content-Length'), 'Transfer-Encoding'
            in self.headers)
        body = self.rfile.read(length)
        self._body_read = True
        if len(body) < length:
            self.close_connection = True
            raise RequestError(
                400, f'body ended after {len(body)} of {length} bytes')
        image = service.decode(body, content_type)
        mask, inference_ms = service.predict(image)
        if path == '/predict':
            self._send_json(
                200, service.result(image, mask, inference_ms, with_overlay))
        else:
            png = (
                service.overlay(image, mask) if with_overlay else mask)
            self._send(200, encode_png(png), 'image/png',
                       {'X-Inference-Ms': f'{inference_ms:.2f}'})

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = \
        do_OPTIONS = _dispatch


def make_server(segmentor: Any,
                host: str = '127.0.0.1',
                port: int = 8000,
                **service_kwargs: Any) -> ThreadingHTTPServer:
    """Build the HTTP server (not yet serving).

    Args:
        segmentor: See :class:`SegmentationService`.
        host (str): Address to bind; ``0.0.0.0`` to serve other machines.
        port (int): Port; 0 lets the OS choose (``server.server_port``).
        **service_kwargs: Limits, see :class:`SegmentationService`.

    Returns:
        ThreadingHTTPServer: Call ``serve_forever()``; ``shutdown()`` and
        ``server_close()`` stop it.
    """
    server = ThreadingHTTPServer((host, port), _Handler)
    server.daemon_threads = True
    server.service = SegmentationService(  # type: ignore[attr-defined]
        segmentor, **service_kwargs)
    return server


def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``tools/serve.py``."""
    parser = argparse.ArgumentParser(
        description='Serve an exported .onnx segmentation model: an upload '
        'page at / and JSON/PNG endpoints (POST /predict, /predict.png)')
    parser.add_argument('model', help='.onnx file written by '
                        'tools/deployment/pytorch2onnx.py')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to bind (default: %(default)s; '
                        '0.0.0.0 serves other machines)')
    parser.add_argument('--port', type=int, default=8000,
                        help='port (default: %(default)s)')
    parser.add_argument('--max-upload-mb', type=float, default=10.0,
                        help='largest request body in MiB (default: '
                        '%(default)s)')
    parser.add_argument('--max-pixels', type=int, default=24_000_000,
                        help='largest image, width x height (default: '
                        '%(default)s, a 6000x4000 photo)')
    parser.add_argument('--max-concurrent', type=int, default=2,
                        help='predictions run at the same time (default: '
                        '%(default)s)')
    parser.add_argument('--threads', type=int, default=None,
                        help='onnxruntime intra-op threads per prediction '
                        '(default: onnxruntime chooses)')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='weight of the class colours in the overlay')
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Load the model and serve until interrupted; return the exit code."""
    args = build_parser().parse_args(argv)
    if not 0.0 <= args.opacity <= 1.0:
        raise SystemExit(f'--opacity must be in [0, 1], got {args.opacity}')
    from mmseg_ext_deploy.ort_segmentor import OrtSegmentor
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(message)s')
    try:
        segmentor = OrtSegmentor(args.model,
                                 intra_op_num_threads=args.threads)
    except (OSError, ValueError, ImportError) as error:
        raise SystemExit(f'error: cannot load {args.model}: {error}')
    try:
        server = make_server(
            segmentor,
            args.host,
            args.port,
            max_upload_bytes=int(args.max_upload_mb * 2**20),
            max_pixels=args.max_pixels,
            max_concurrent=args.max_concurrent,
            opacity=args.opacity)
    except OSError as error:
        raise SystemExit(
            f'error: cannot listen on {args.host}:{args.port}: {error}')
    host, port = server.server_address[:2]
    shown = f'[{host}]' if ':' in host else host
    logger.info('Serving %s on http://%s:%d/ (Ctrl+C stops)', args.model,
                shown, port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info('Stopped.')
    finally:
        server.server_close()
    return 0


def page_html(service: SegmentationService) -> str:
    """The upload page, with the model's classes and the limits inlined."""
    config = dict(
        model=service.metadata.get('model') or 'model',
        classes=[
            dict(name=name, color=service.palette[i])
            for i, name in enumerate(service.classes)
        ],
        maxUploadBytes=service.max_upload_bytes,
        maxPixels=service.max_pixels,
        acceptedTypes=list(ACCEPTED_TYPES))
    # '<' escaped so that no string in the JSON can close the <script>
    blob = json.dumps(config).replace('<', '\\u003c')
    return _PAGE.replace('__CONFIG__', blob)


_PAGE_CSP = ("default-src 'none'; img-src data: blob:; "
             "style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
             "connect-src 'self'; base-uri 'none'; form-action 'none'")

_PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mmseg_ext segmentation</title>
<style>
  :root { --fg: #1d2330; --muted: #5d6678; --line: #d9dde5;
          --accent: #2f6fde; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI",
         Roboto, "DejaVu Sans", sans-serif; color: var(--fg);
         background: #f5f6f8; }
  header { background: #1d2330; color: #fff; padding: 14px 24px; }
  header h1 { margin: 0; font-size: 19px; font-weight: 600; }
  header span { color: #aeb6c6; font-size: 13px; }
  main { max-width: 1100px; margin: 0 auto; padding: 18px 24px 32px; }
  .card { background: #fff; border: 1px solid var(--line); border-radius: 8px;
          padding: 16px; margin-bottom: 16px; }
  .upload { display: flex; gap: 14px; align-items: center; flex-wrap: wrap; }
  .upload label { background: var(--accent); color: #fff; padding: 8px 16px;
                  border-radius: 6px; cursor: pointer; font-weight: 600; }
  .upload input { display: none; }
  #status { color: var(--muted); }
  #error { display: none; background: #fdecec; border: 1px solid #f1b4b4;
           color: #9b1c1c; border-radius: 6px; padding: 10px 14px;
           margin-top: 12px; }
  .images { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
  figure { margin: 0; }
  figure img { width: 100%; border-radius: 6px; border: 1px solid var(--line);
               image-rendering: auto; background: #eef0f3; }
  figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 6px 8px;
           border-bottom: 1px solid var(--line); }
  th { color: var(--muted); font-weight: 600; font-size: 13px; }
  .num { text-align: right; font-variant-numeric: tabular-nums; width: 90px; }
  .swatch { display: inline-block; width: 14px; height: 14px;
            border-radius: 3px; border: 1px solid rgba(0,0,0,.25);
            vertical-align: -2px; margin-right: 8px; }
  .bar { height: 10px; border-radius: 5px; min-width: 1px; }
  td.barcell { width: 45%; }
  #result { display: none; }
  @media (max-width: 700px) { .images { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header><h1>Semantic segmentation</h1>
<span id="model"></span></header>
<main>
  <div class="card">
    <div class="upload">
      <label for="file">Choose an image…</label>
      <input id="file" type="file">
      <span id="status">PNG, JPEG, BMP or WebP.</span>
    </div>
    <div id="error" role="alert"></div>
  </div>
  <div id="result">
    <div class="card images">
      <figure><img id="input" alt="uploaded image">
        <figcaption id="inputcap">Image</figcaption></figure>
      <figure><img id="overlay" alt="colour overlay of the predicted classes">
        <figcaption>Prediction overlay</figcaption></figure>
    </div>
    <div class="card">
      <table><thead>
        <tr><th>Class</th><th class="num">Share</th><th></th></tr></thead>
      <tbody id="shares"></tbody></table>
    </div>
  </div>
</main>
<script>
"use strict";
const CONFIG = __CONFIG__;
const el = (id) => document.getElementById(id);
const rgb = (c) => "rgb(" + c[0] + "," + c[1] + "," + c[2] + ")";
el("model").textContent = CONFIG.model + " · " + CONFIG.classes.length +
  " classes · uploads up to " + (CONFIG.maxUploadBytes / 1048576).toFixed(1) +
  " MiB, " + (CONFIG.maxPixels / 1e6).toFixed(1) + " Mpx";
el("file").accept = CONFIG.acceptedTypes.join(",");

function showError(message) {
  el("error").textContent = message;
  el("error").style.display = message ? "block" : "none";
}

function render(result, imageUrl, fileName) {
  el("input").src = imageUrl;
  el("inputcap").textContent = (fileName ? fileName + " · " : "") +
    result.width + " × " + result.height + " px";
  el("overlay").src = "data:image/png;base64," + result.overlay_png_base64;
  const body = el("shares");
  body.textContent = "";
  const rows = result.classes.slice().sort((a, b) => b.share - a.share);
  for (const c of rows) {
    const tr = document.createElement("tr");
    const name = document.createElement("td");
    const sw = document.createElement("span");
    sw.className = "swatch"; sw.style.background = rgb(c.color);
    name.append(sw, document.createTextNode(c.name));
    const share = document.createElement("td");
    share.className = "num";
    share.textContent = (100 * c.share).toFixed(1) + " %";
    const barCell = document.createElement("td");
    barCell.className = "barcell";
    const bar = document.createElement("div");
    bar.className = "bar"; bar.style.background = rgb(c.color);
    bar.style.width = (100 * c.share).toFixed(2) + "%";
    barCell.append(bar);
    tr.append(name, share, barCell);
    body.append(tr);
  }
  el("status").textContent =
    "Predicted in " + result.inference_ms.toFixed(0) + " ms.";
  el("result").style.display = "block";
}

async function upload(file) {
  showError("");
  if (file.size > CONFIG.maxUploadBytes) {
    showError("The file has " + file.size +
              " bytes; the server accepts at most " +
              CONFIG.maxUploadBytes + ".");
    return;
  }
  el("status").textContent = "Predicting " + file.name + "…";
  let response, answer;
  try {
    response = await fetch("predict", {
      method: "POST",
      headers: {"Content-Type": file.type || "application/octet-stream"},
      body: file,
    });
    answer = await response.json();
  } catch (err) {
    el("status").textContent = "";
    showError("Request failed: " + err);
    return;
  }
  if (!response.ok) {
    el("status").textContent = "";
    showError("Error " + response.status + ": " +
              (answer.error || response.statusText));
    return;
  }
  render(answer, URL.createObjectURL(file), file.name);
}

el("file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (file) upload(file);
});
</script>
</body>
</html>
"""

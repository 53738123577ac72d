"""Tests of ``tools/serve.py`` (:mod:`mmseg_ext_deploy.server`): a real HTTP
client on 127.0.0.1 against the server in a thread, a tiny ONNX model made
with ``onnx.helper`` (no torch export)."""
import http.client
import json
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from typing import Dict, Optional, Tuple

import cv2
import numpy as np
import pytest

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

from mmseg_ext_deploy import OrtSegmentor  # noqa: E402
from mmseg_ext_deploy.server import (  # noqa: E402
    build_parser, image_size, make_server)
from tests.test_deploy import make_metadata  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CLASSES = ['background', 'red']
PALETTE = [[0, 0, 0], [255, 0, 0]]
MAX_UPLOAD = 256 * 1024
MAX_PIXELS = 128 * 128


def _write_tiny_model(path: str) -> None:
    """A 1x1 convolution 3 -> 2 channels with the contract's metadata: on
    the unnormalised RGB input (mean 0, std 1), logit 0 is 128 and logit 1
    the red channel, so red pixels (R > 128) are class 1."""
    import onnx
    from onnx import TensorProto, helper

    from mmseg_ext_deploy.metadata import METADATA_KEY
    weight = np.zeros((2, 3, 1, 1), np.float32)
    weight[1, 0] = 1.0
    bias = np.array([128.0, 0.0], np.float32)
    graph = helper.make_graph(
        [helper.make_node('Conv', ['input', 'w', 'b'], ['logits'])],
        'tiny',
        [helper.make_tensor_value_info('input', TensorProto.FLOAT,
                                       ['N', 3, 'H', 'W'])],
        [helper.make_tensor_value_info('logits', TensorProto.FLOAT,
                                       ['N', 2, 'H', 'W'])],
        [helper.make_tensor('w', TensorProto.FLOAT, weight.shape,
                            weight.ravel()),
         helper.make_tensor('b', TensorProto.FLOAT, bias.shape, bias)])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', 17)])
    model.ir_version = 8
    metadata = make_metadata(2, model='TinyConv', classes=CLASSES,
                             palette=PALETTE, mean=[0.0] * 3, std=[1.0] * 3)
    helper.set_model_props(model, {METADATA_KEY: json.dumps(metadata)})
    onnx.checker.check_model(model)
    onnx.save(model, path)


@pytest.fixture(scope='module')
def model_path(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp('serve') / 'tiny.onnx')
    _write_tiny_model(path)
    return path


@pytest.fixture(scope='module')
def server(model_path):
    """The server on 127.0.0.1, an OS-chosen port, in a thread."""
    srv = make_server(OrtSegmentor(model_path), '127.0.0.1', 0,
                      max_upload_bytes=MAX_UPLOAD, max_pixels=MAX_PIXELS,
                      max_concurrent=1, queue_timeout=0.2)
    thread = threading.Thread(
        target=srv.serve_forever, kwargs=dict(poll_interval=0.05),
        daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=10)
    assert not thread.is_alive()


def _image(width: int = 40, height: int = 30) -> np.ndarray:
    """Left half red, right half dark: half class 1, half class 0."""
    img = np.full((height, width, 3), 20, np.uint8)
    img[:, :width // 2] = (0, 0, 255)  # BGR red
    return img


def _encode(img: np.ndarray, ext: str = '.png') -> bytes:
    return cv2.imencode(ext, img)[1].tobytes()


def _connect(server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection('127.0.0.1', server.server_port,
                                      timeout=10)


def _request(server, method: str, path: str, body: Optional[bytes] = None,
             headers: Optional[Dict[str, str]] = None,
             conn: Optional[http.client.HTTPConnection] = None
             ) -> Tuple[int, http.client.HTTPMessage, bytes]:
    own = conn is None
    conn = conn or _connect(server)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        if own:
            conn.close()


def _raw_request(server, head: str) -> Tuple[int, dict]:
    """Send bare request headers (no body) and read the JSON answer."""
    conn = _connect(server)
    try:
        conn.sock = None
        conn.connect()
        conn.sock.sendall(head.encode('latin-1'))
        response = http.client.HTTPResponse(conn.sock, method='POST')
        response.begin()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def _multipart(fields) -> Tuple[bytes, str]:
    """``fields``: (name, filename, content_type, data) tuples."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, filename, ctype, data in fields:
        disposition = f'form-data; name="{name}"'
        if filename:
            disposition += f'; filename="{filename}"'
        head = f'--{boundary}\r\nContent-Disposition: {disposition}\r\n'
        if ctype:
            head += f'Content-Type: {ctype}\r\n'
        parts.append(head.encode() + b'\r\n' + data + b'\r\n')
    body = b''.join(parts) + f'--{boundary}--\r\n'.encode()
    return body, f'multipart/form-data; boundary={boundary}'


def _assert_good(server, conn=None) -> None:
    """A good upload gets the hand-computed answer."""
    status, _, body = _request(server, 'POST', '/predict?overlay=0',
                               _encode(_image()),
                               {'Content-Type': 'image/png'}, conn)
    assert status == 200, body
    result = json.loads(body)
    assert [c['share'] for c in result['classes']] == [0.5, 0.5]


def test_health_metadata_page(server):
    status, headers, body = _request(server, 'GET', '/health')
    assert status == 200
    assert headers['Content-Type'] == 'application/json'
    assert json.loads(body) == dict(
        status='ok', model='TinyConv', classes=2,
        max_upload_bytes=MAX_UPLOAD, max_pixels=MAX_PIXELS)
    status, _, body = _request(server, 'GET', '/metadata')
    meta = json.loads(body)
    assert status == 200
    assert meta['classes'] == CLASSES and meta['palette'] == PALETTE
    status, headers, body = _request(server, 'GET', '/')
    assert status == 200
    assert headers['Content-Type'] == 'text/html; charset=utf-8'
    assert "default-src 'none'" in headers['Content-Security-Policy']
    page = body.decode('utf-8')
    assert '"name": "red", "color": [255, 0, 0]' in page
    assert 'type="file"' in page and 'fetch("predict"' in page
    # self-contained: nothing is loaded from another host
    assert not re.search(r'(src|href)="(https?:)?//', page)
    status, headers, body = _request(server, 'HEAD', '/')
    assert status == 200 and body == b''
    assert int(headers['Content-Length']) == len(page.encode('utf-8'))


@pytest.mark.parametrize('ext,ctype', [('.png', 'image/png'),
                                       ('.jpg', 'image/jpeg'),
                                       ('.bmp', 'image/bmp'),
                                       ('.webp', 'image/webp')])
def test_predict_json_raw_body(server, ext, ctype):
    status, headers, body = _request(server, 'POST', '/predict',
                                     _encode(_image(), ext),
                                     {'Content-Type': ctype})
    assert status == 200, body
    assert headers['Content-Type'] == 'application/json'
    result = json.loads(body)
    assert (result['width'], result['height']) == (40, 30)
    assert result['model'] == 'TinyConv'
    assert [(c['id'], c['name'], c['color']) for c in result['classes']
            ] == [(0, 'background', [0, 0, 0]), (1, 'red', [255, 0, 0])]
    assert [c['pixels'] for c in result['classes']] == [600, 600]
    assert [c['share'] for c in result['classes']] == [0.5, 0.5]
    overlay = cv2.imdecode(
        np.frombuffer(__import__('base64').b64decode(
            result['overlay_png_base64']), np.uint8), cv2.IMREAD_COLOR)
    assert overlay.shape == (30, 40, 3)
    # opacity 0.5: red stays red, the dark half is darkened
    np.testing.assert_allclose(overlay[0, 0], [0, 0, 255], atol=2)
    np.testing.assert_allclose(overlay[0, -1], [10, 10, 10], atol=2)


def test_predict_multipart(server):
    body, ctype = _multipart([
        ('note', None, None, b'ignored'),
        ('image', 'a b.jpg', 'image/jpeg', _encode(_image(), '.jpg')),
    ])
    status, _, answer = _request(server, 'POST', '/predict?overlay=0', body,
                                 {'Content-Type': ctype})
    assert status == 200, answer
    result = json.loads(answer)
    assert 'overlay_png_base64' not in result
    assert [c['share'] for c in result['classes']] == [0.5, 0.5]
    # browsers send files of unknown type as application/octet-stream
    body, ctype = _multipart([('image', 'x', 'application/octet-stream',
                               _encode(_image()))])
    assert _request(server, 'POST', '/predict', body,
                    {'Content-Type': ctype})[0] == 200


def test_predict_png(server):
    img = _image()
    status, headers, body = _request(server, 'POST', '/predict.png',
                                     _encode(img),
                                     {'Content-Type': 'image/png'})
    assert status == 200 and headers['Content-Type'] == 'image/png'
    mask = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_UNCHANGED)
    expected = np.zeros((30, 40), np.uint8)
    expected[:, :20] = 1
    assert mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, expected)
    status, _, body = _request(server, 'POST', '/predict.png?overlay=1',
                               _encode(img), {'Content-Type': 'image/png'})
    overlay = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    assert status == 200 and overlay.shape == (30, 40, 3)


def _bad_uploads():
    png = _encode(_image())
    text_part, text_ctype = _multipart([('image', 'a.txt', 'text/plain',
                                         b'hello')])
    no_image, no_image_ctype = _multipart([('file', 'a.png', 'image/png',
                                            png)])
    return [
        # (method, path, body, content type, status, words in the message)
        ('POST', '/predict', b'this is not an image', 'image/png', 400,
         'not a PNG, JPEG, BMP or WebP image'),
        ('POST', '/predict', png[:60], 'image/png', 400, 'could not be '
         'decoded'),
        ('POST', '/predict', png, 'text/plain', 415, 'unsupported '
         'Content-Type'),
        ('POST', '/predict', png, None, 415, 'no Content-Type'),
        ('POST', '/predict', png, 'image/gif', 415, 'image/gif'),
        ('POST', '/predict', text_part, text_ctype, 415, 'text/plain'),
        ('POST', '/predict', no_image, no_image_ctype, 400,
         'without an "image" field'),
        ('POST', '/predict', png, 'multipart/form-data', 400, 'malformed'),
        ('POST', '/predict', b'', 'image/png', 400, 'empty body'),
        ('POST', '/predict?overlay=maybe', png, 'image/png', 400,
         'not a boolean'),
        ('POST', '/predict', _encode(np.zeros((129, 128, 3), np.uint8)),
         'image/png', 413, '16512 pixels is larger'),
        ('POST', '/predict.png', _encode(np.zeros((200, 100, 3), np.uint8),
                                         '.jpg'), 'image/jpeg', 413,
         '100x200'),
        ('POST', '/predict', b'x' * (MAX_UPLOAD + 1), 'image/png', 413,
         f'limit of {MAX_UPLOAD} bytes'),
        ('GET', '/nothing', None, None, 404, 'no such path'),
        ('POST', '/nothing', png, 'image/png', 404, 'no such path'),
        ('GET', '/predict', None, None, 405, 'use POST'),
        ('DELETE', '/', None, None, 405, 'use GET or HEAD'),
        ('PUT', '/predict.png', png, 'image/png', 405, 'use POST'),
    ]


@pytest.mark.parametrize('case', _bad_uploads(),
                         ids=lambda case: f'{case[4]}-{case[5][:20]}')
def test_bad_uploads_then_good(server, case):
    method, path, body, ctype, expected, words = case
    conn = _connect(server)
    try:
        headers = {'Content-Type': ctype} if ctype else {}
        if ctype is None and body is not None:
            conn.putrequest(method, path)
            conn.putheader('Content-Length', str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            status, answer_headers, answer = (response.status,
                                              response.headers,
                                              response.read())
        else:
            status, answer_headers, answer = _request(server, method, path,
                                                      body, headers, conn)
        assert status == expected, answer
        assert answer_headers['Content-Type'] == 'application/json'
        message = json.loads(answer)
        assert message['status'] == expected
        assert words in message['error']
        if expected == 405:
            assert answer_headers['Allow'] in ('POST', 'GET, HEAD')
        # the same connection goes on where the server kept it open
        if answer_headers.get('Connection') != 'close':
            _assert_good(server, conn)
    finally:
        conn.close()
    _assert_good(server)


def test_refused_from_the_headers_alone(server):
    # too large: refused from Content-Length, before the body is sent
    status, answer = _raw_request(
        server, 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: '
        'image/png\r\nContent-Length: 1000000000\r\n\r\n')
    assert status == 413 and 'larger than the limit' in answer['error']
    _assert_good(server)
    status, answer = _raw_request(
        server, 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: '
        'image/png\r\n\r\n')
    assert status == 411 and 'no Content-Length' in answer['error']
    _assert_good(server)
    status, answer = _raw_request(
        server, 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: '
        'image/png\r\nTransfer-Encoding: chunked\r\n\r\n')
    assert status == 411 and 'chunked' in answer['error']
    _assert_good(server)
    status, answer = _raw_request(
        server, 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: '
        'image/png\r\nContent-Length: -5\r\n\r\n')
    assert status == 400 and 'invalid Content-Length' in answer['error']
    _assert_good(server)


def _read_head(sock) -> bytes:
    head = b''
    while b'\r\n\r\n' not in head and len(head) < 4096:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return head


def test_expect_100_continue(server):
    """``Expect: 100-continue``: refused from the headers before the body
    is sent, else ``100 Continue`` and the normal answer."""
    png = _encode(_image())
    conn = _connect(server)
    try:
        conn.connect()
        conn.sock.sendall(
            b'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png'
            b'\r\nContent-Length: 999999999\r\nExpect: 100-continue'
            b'\r\n\r\n')
        response = http.client.HTTPResponse(conn.sock, method='POST')
        response.begin()
        assert response.status == 413
        assert 'larger than the limit' in json.loads(response.read())['error']
    finally:
        conn.close()
    conn = _connect(server)
    try:
        conn.connect()
        conn.sock.sendall(
            b'POST /predict?overlay=0 HTTP/1.1\r\nHost: x\r\nContent-Type: '
            b'image/png\r\nContent-Length: ' + str(len(png)).encode() +
            b'\r\nExpect: 100-continue\r\n\r\n')
        assert _read_head(conn.sock).startswith(b'HTTP/1.1 100 Continue')
        conn.sock.sendall(png)
        response = http.client.HTTPResponse(conn.sock, method='POST')
        response.begin()
        assert response.status == 200
        result = json.loads(response.read())
        assert [c['share'] for c in result['classes']] == [0.5, 0.5]
    finally:
        conn.close()
    _assert_good(server)


def test_busy_server_answers_503(server):
    slots = server.service._slots
    assert slots.acquire(timeout=5)
    try:
        status, headers, body = _request(server, 'POST', '/predict',
                                         _encode(_image()),
                                         {'Content-Type': 'image/png'})
    finally:
        slots.release()
    assert status == 503 and headers['Retry-After'] == '5'
    assert 'busy' in json.loads(body)['error']
    _assert_good(server)


def test_image_size_reads_headers():
    img = np.zeros((37, 53, 3), np.uint8)
    for ext, fmt in [('.png', 'png'), ('.jpg', 'jpeg'), ('.bmp', 'bmp'),
                     ('.webp', 'webp')]:
        assert image_size(_encode(img, ext)) == (fmt, 53, 37), ext
    lossless = cv2.imencode('.webp', img, [cv2.IMWRITE_WEBP_QUALITY,
                                           101])[1].tobytes()
    assert image_size(lossless) == ('webp', 53, 37)
    progressive = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_PROGRESSIVE,
                                             1])[1].tobytes()
    assert image_size(progressive) == ('jpeg', 53, 37)
    for data in (b'', b'GIF89a', b'\x89PNG\r\n\x1a\n', b'\xff\xd8\xff\xe0',
                 b'BM', b'RIFF\0\0\0\0WEBPVP8 '):
        assert image_size(data) is None


def test_parser_defaults():
    args = build_parser().parse_args(['m.onnx'])
    assert (args.host, args.port, args.max_upload_mb, args.max_pixels) == (
        '127.0.0.1', 8000, 10.0, 24_000_000)


_NO_TORCH = """
import runpy, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'mmcv', 'mmseg', 'mmengine',
                                  'mmseg_ext'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
sys.argv = ['tools/serve.py'] + sys.argv[1:]
runpy.run_path('tools/serve.py', run_name='__main__')
"""


def test_cli_refuses_a_file_that_is_not_a_model(tmp_path):
    path = tmp_path / 'not_a_model.onnx'
    path.write_bytes(b'not onnx')
    proc = subprocess.run(
        [sys.executable, '-c', _NO_TORCH, str(path), '--port', '0'],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO),
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert f'error: cannot load {path}' in proc.stderr


def _default_sigint() -> None:
    """Ctrl+C as in a terminal: a job started with ``&`` by a
    non-interactive shell (CI) inherits SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_cli_serves_without_torch(model_path):
    """``tools/serve.py`` in a subprocess where importing torch, mmcv,
    mmseg or mmengine fails: it serves, and stops on Ctrl+C."""
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.Popen(
        [sys.executable, '-c', _NO_TORCH, model_path, '--port', '0',
         '--max-upload-mb', '1'],
        cwd=REPO, env=env, stderr=subprocess.PIPE, text=True,
        preexec_fn=_default_sigint)
    try:
        port = None
        deadline = time.monotonic() + 60
        lines = []
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r'http://127\.0\.0\.1:(\d+)/', line)
            port = int(found.group(1)) if found else None
        assert port, ''.join(lines)
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
        conn.request('GET', '/health')
        answer = json.loads(conn.getresponse().read())
        conn.close()
        assert answer['max_upload_bytes'] == 2**20
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stderr.close()

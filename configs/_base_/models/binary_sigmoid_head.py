# A two-class dataset (background 0, foreground 1) predicted by ONE sigmoid
# channel: merge into every decode/auxiliary head,
#   decode_head=dict(_base_.binary_head, loss_decode=...)
# num_classes stays 2, so metrics, palettes and the per-class table cover
# both classes; the head outputs one logit per pixel, sigmoid > threshold
# is foreground (0.5: the same decision as an argmax over two classes;
# change it with --cfg-options model.decode_head.threshold=0.4).
# Why one channel: the drone recipe's Tversky loss weighs the foreground's
# false positives (alpha) and false negatives (beta). With one channel
# mmseg_ext's TverskyLoss scores exactly that class; with two softmax
# channels it would also average in the background's index, near 1 where
# background covers most pixels, which dilutes the obstacle's. A CE entry
# on such a head needs use_sigmoid=True; LovaszLoss switches to the hinge.
binary_head = dict(num_classes=2, out_channels=1, threshold=0.5)

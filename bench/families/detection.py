"""torchvision's detection family for issue 18's family runs (bench/coverage-bench.sh FAMILIES=1, the committed
fixtures under fixtures/families/detection/).

models() -> {name: builder}; builder(size) -> (model_in_eval_mode, example_inputs_tuple, tolerance_dict); scriptable(model)
-> what torch.jit.script takes for it (the serving wrapper of its detector).

Every model takes one image batch [1, 3, S, S] and returns the first image's detections as a tuple (boxes, scores,
labels, then masks or keypoints and their scores): `Detections` wraps torchvision's list-of-images, list-of-dicts
interface, so the archive has plain tensor inputs and outputs. The number of detections depends on the data.

size="small": the same detector classes (GeneralizedRCNN, RetinaNet, FCOS, SSD and their heads, transforms and
post-processing) on tiny backbones (a 4-stage Bottleneck ResNet with 4..32 planes for ResNet-50, MobileNetV3-Large
at width 0.25, a 6-map VGG-style stack for SSD300), 8..32 channels, 64 px images (SSD: 96 px), few detections.
size="full": torchvision's own builders with random weights (the bench's speed check), 320 px images.

Random weights: BatchNorm statistics calibrated by a few train-mode batches of random images, box regression
outputs scaled down so boxes stay near their anchors (inside the image), class scores spread so that the kept
detections have distinct scores (ties may reorder detections: docs/validation.md).

Runs under Debian's PyTorch 1.13 / torchvision 0.14 and PyTorch 2.6 / torchvision 0.21 (fixtures/chroot-2x.sh).
"""


# Its committed fixtures come from this generator, not from fixtures/families/generate.py.
FIXTURE_GENERATOR = "fixtures/families/detection/generate.py"
import re
from collections import OrderedDict
from functools import partial
from typing import Dict, Tuple

import torch
import torch.nn as nn
from torch import Tensor
from torchvision.models import mobilenet_v3_large
from torchvision.models import detection as tvdet
from torchvision.models.detection import fcos as fcos_module
from torchvision.models.detection.anchor_utils import AnchorGenerator, DefaultBoxGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNConvFCHead, FastRCNNPredictor, RPNHead, TwoMLPHead
from torchvision.models.detection.keypoint_rcnn import KeypointRCNNHeads, KeypointRCNNPredictor
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.detection.retinanet import RetinaNetHead
from torchvision.models.detection.ssd import SSDHead
from torchvision.models.detection.ssdlite import SSDLiteFeatureExtractorMobileNet, SSDLiteHead
from torchvision.models.resnet import Bottleneck, ResNet
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7

# The models take one image (Detections and the serving wrappers unbind the batch into a list): static input dims.
STATIC_INPUTS = True
TOLERANCE = {"atol": 1e-3, "rtol": 1e-3}
NUM_CLASSES = 4
SMALL_IMAGE = 64
FULL_IMAGE = 320
FPN_CHANNELS = 16
# Few, deterministic detections: low thresholds so random heads keep some boxes, small caps so outputs stay small.
RCNN_LIMITS = dict(rpn_pre_nms_top_n_test=60, rpn_post_nms_top_n_test=20, box_score_thresh=0.05,
                   box_detections_per_img=6)


class Detections(nn.Module):
    """images [1, 3, S, S] -> the first image's detections as a tuple, in `keys` order."""

    def __init__(self, detector, keys):
        super().__init__()
        self.detector = detector
        self.keys = keys

    def forward(self, images):
        detections = self.detector([images[0]])
        if isinstance(detections, tuple):  # scripted torchvision detectors return (losses, detections)
            detections = detections[1]
        first = detections[0]
        return tuple(first[key] for key in self.keys)


class ScriptedDetections(nn.Module):
    """The serving wrapper of a scripted detector: images [N, 3, S, S] -> the first image's detections."""

    def __init__(self, detector):
        super().__init__()
        self.detector = detector

    def first_image(self, images: Tensor) -> Dict[str, Tensor]:
        losses, detections = self.detector(list(images.unbind(0)))
        return detections[0]


class ScriptedBoxes(ScriptedDetections):
    def forward(self, images: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        first = self.first_image(images)
        return first["boxes"], first["scores"], first["labels"]


class ScriptedMasks(ScriptedDetections):
    def forward(self, images: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        first = self.first_image(images)
        return first["boxes"], first["scores"], first["labels"], first["masks"]


class ScriptedKeypoints(ScriptedDetections):
    def forward(self, images: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        first = self.first_image(images)
        return first["boxes"], first["scores"], first["labels"], first["keypoints"], first["keypoints_scores"]


WRAPPERS = {3: ScriptedBoxes, 4: ScriptedMasks, 5: ScriptedKeypoints}


def scriptable(model):
    """What torch.jit.script takes for `model` (a Detections): its detector inside the serving wrapper for its outputs.
    bench/families_run.py and the fixtures' generator script this instead of the model itself."""
    return WRAPPERS[len(model.keys)](model.detector)


def tiny_resnet50():
    """ResNet-50's structure (stem, four Bottleneck stages, expansion 4) at planes 4, 8, 16, 32 and one block a stage:
    what _resnet_fpn_extractor expects (layer1..layer4, inplanes // 8 = the first stage's width)."""
    net = ResNet(Bottleneck, [1, 1, 1, 1])
    net.inplanes = 8
    net.conv1 = nn.Conv2d(3, 8, 7, 2, 3, bias=False)
    net.bn1 = nn.BatchNorm2d(8)
    net.layer1 = net._make_layer(Bottleneck, 4, 1)
    net.layer2 = net._make_layer(Bottleneck, 8, 1, stride=2)
    net.layer3 = net._make_layer(Bottleneck, 16, 1, stride=2)
    net.layer4 = net._make_layer(Bottleneck, 32, 1, stride=2)
    return net


def resnet_fpn(returned_layers=(1, 2, 3, 4), extra_blocks=None, norm_layer=None, channels=FPN_CHANNELS):
    """_resnet_fpn_extractor on the tiny ResNet-50, FPN_CHANNELS wide (torchvision hard-codes 256)."""
    net = tiny_resnet50()
    return_layers = {f"layer{k}": str(v) for v, k in enumerate(returned_layers)}
    in_channels = [16 * 2 ** (k - 1) for k in returned_layers]
    return BackboneWithFPN(net, return_layers, in_channels, channels,
                           extra_blocks=extra_blocks or LastLevelMaxPool(), norm_layer=norm_layer)


def mobilenet_features():
    return mobilenet_v3_large(width_mult=0.25, reduced_tail=True, norm_layer=nn.BatchNorm2d).features


def mobilenet_fpn():
    """backbone_utils._mobilenet_extractor(fpn=True) on MobileNetV3-Large at width 0.25, FPN_CHANNELS wide."""
    features = mobilenet_features()
    stages = [0] + [i for i, b in enumerate(features) if getattr(b, "_is_cn", False)] + [len(features) - 1]
    returned = [len(stages) - 2, len(stages) - 1]
    return_layers = {f"{stages[k]}": str(v) for v, k in enumerate(returned)}
    in_channels = [features[stages[k]].out_channels for k in returned]
    return BackboneWithFPN(features, return_layers, in_channels, FPN_CHANNELS)


def rcnn_anchors(levels):
    return AnchorGenerator(((16, 32, 64),) * levels, ((0.5, 1.0, 2.0),) * levels)


def rcnn_common(size):
    return dict(min_size=size, max_size=size, **RCNN_LIMITS)


def box_head_v1():
    return dict(box_head=TwoMLPHead(FPN_CHANNELS * 7 * 7, 32), box_predictor=FastRCNNPredictor(32, NUM_CLASSES))


def faster_rcnn_mobilenet_v3():
    backbone = mobilenet_fpn()
    return tvdet.FasterRCNN(backbone, rpn_anchor_generator=rcnn_anchors(3), **box_head_v1(),
                            **rcnn_common(SMALL_IMAGE))


def faster_rcnn_resnet50():
    return tvdet.FasterRCNN(resnet_fpn(), rpn_anchor_generator=rcnn_anchors(5), **box_head_v1(),
                            **rcnn_common(SMALL_IMAGE))


def faster_rcnn_resnet50_v2():
    """fasterrcnn_resnet50_fpn_v2's heads: BatchNorm in the FPN, a two-conv RPN head, a conv+fc box head."""
    backbone = resnet_fpn(norm_layer=nn.BatchNorm2d)
    anchors = rcnn_anchors(5)
    return tvdet.FasterRCNN(
        backbone, rpn_anchor_generator=anchors,
        rpn_head=RPNHead(FPN_CHANNELS, anchors.num_anchors_per_location()[0], conv_depth=2),
        box_head=FastRCNNConvFCHead((FPN_CHANNELS, 7, 7), [8, 8], [32], norm_layer=nn.BatchNorm2d),
        box_predictor=FastRCNNPredictor(32, NUM_CLASSES), **rcnn_common(SMALL_IMAGE))


def mask_rcnn():
    return tvdet.MaskRCNN(resnet_fpn(), rpn_anchor_generator=rcnn_anchors(5), **box_head_v1(),
                          mask_head=MaskRCNNHeads(FPN_CHANNELS, [8, 8], 1),
                          mask_predictor=MaskRCNNPredictor(8, 8, NUM_CLASSES), **rcnn_common(SMALL_IMAGE))


def keypoint_rcnn():
    return tvdet.KeypointRCNN(resnet_fpn(), rpn_anchor_generator=rcnn_anchors(5),
                              box_head=TwoMLPHead(FPN_CHANNELS * 7 * 7, 32), box_predictor=FastRCNNPredictor(32, 2),
                              keypoint_head=KeypointRCNNHeads(FPN_CHANNELS, [8, 8]),
                              keypoint_predictor=KeypointRCNNPredictor(8, 5), **rcnn_common(SMALL_IMAGE))


def single_stage_anchors():
    return AnchorGenerator(tuple((s, s * 2) for s in (8, 16, 32, 64, 128)), ((0.5, 1.0, 2.0),) * 5)


SINGLE_STAGE_LIMITS = dict(min_size=SMALL_IMAGE, max_size=SMALL_IMAGE, score_thresh=0.05, detections_per_img=6,
                           topk_candidates=40)


def retinanet():
    backbone = resnet_fpn((2, 3, 4), LastLevelP6P7(FPN_CHANNELS, FPN_CHANNELS))
    anchors = single_stage_anchors()
    head = RetinaNetHead(FPN_CHANNELS, anchors.num_anchors_per_location()[0], NUM_CLASSES)
    return tvdet.RetinaNet(backbone, NUM_CLASSES, anchor_generator=anchors, head=head, **SINGLE_STAGE_LIMITS)


def fcos():
    """FCOS's head builds GroupNorm(32, channels) into both branches: 32 groups of a 16-channel FPN cannot be (and
    one channel a group on P7's 1x1 map would normalise everything to 0). The head is built 32 wide, then both
    branches are replaced by 16-wide ones, two convs each, with GroupNorm(8, 16)."""
    backbone = resnet_fpn((2, 3, 4), LastLevelP6P7(FPN_CHANNELS, FPN_CHANNELS))
    anchors = AnchorGenerator(((8,), (16,), (32,), (64,), (128,)), ((1.0,),) * 5)
    head = fcos_module.FCOSHead(32, 1, NUM_CLASSES, num_convs=2)
    norm_layer = partial(nn.GroupNorm, 8)
    head.classification_head = fcos_module.FCOSClassificationHead(FPN_CHANNELS, 1, NUM_CLASSES, 2,
                                                                  norm_layer=norm_layer)
    head.regression_head = fcos_module.FCOSRegressionHead(FPN_CHANNELS, 1, 2, norm_layer=norm_layer)
    return tvdet.FCOS(backbone, NUM_CLASSES, anchor_generator=anchors, head=head, **SINGLE_STAGE_LIMITS)


class TinyVgg(nn.Module):
    """SSD300's backbone shape at a tiny width: VGG-style 3x3 conv stages (no BatchNorm, like vgg16's features), the
    first feature map L2-normalised with a learned scale (SSDFeatureExtractorVGG's scale_weight), then extra stride-2
    layers down to 1x1; returns the feature maps as SSD expects (an OrderedDict)."""

    def __init__(self, widths=(8, 16, 16, 16, 8, 8)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(8, widths[0], 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True))
        self.scale_weight = nn.Parameter(torch.ones(widths[0]) * 20)
        self.extra = nn.ModuleList(
            nn.Sequential(nn.Conv2d(cin, cout, 1), nn.ReLU(), nn.Conv2d(cout, cout, 3, stride=2, padding=1), nn.ReLU())
            for cin, cout in zip(widths[:-1], widths[1:]))

    def forward(self, x):
        x = self.stem(x)
        maps = OrderedDict()  # built item by item: torch.jit.script takes no generator expressions
        maps["0"] = self.scale_weight.view(1, -1, 1, 1) * nn.functional.normalize(x)
        for i, layer in enumerate(self.extra):
            x = layer(x)
            maps[str(i + 1)] = x
        return maps


SSD_IMAGE = 96
SSD_LIMITS = dict(score_thresh=0.05, detections_per_img=6, topk_candidates=40)


def ssd300():
    widths = (8, 16, 16, 16, 8, 8)
    anchors = DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]])
    head = SSDHead(list(widths), anchors.num_anchors_per_location(), NUM_CLASSES)
    return tvdet.ssd.SSD(TinyVgg(widths), anchors, (SSD_IMAGE, SSD_IMAGE), NUM_CLASSES, head=head, **SSD_LIMITS)


def ssdlite():
    norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)
    features = mobilenet_v3_large(width_mult=0.25, reduced_tail=True, norm_layer=norm_layer).features
    c4 = [i for i, b in enumerate(features) if getattr(b, "_is_cn", False)][-1]
    backbone = SSDLiteFeatureExtractorMobileNet(features, c4, norm_layer, width_mult=0.0625, min_depth=8)
    anchors = DefaultBoxGenerator([[2, 3] for _ in range(6)], min_ratio=0.2, max_ratio=0.95)
    out_channels = tvdet._utils.retrieve_out_channels(backbone, (SSD_IMAGE, SSD_IMAGE))
    head = SSDLiteHead(out_channels, anchors.num_anchors_per_location(), NUM_CLASSES, norm_layer)
    return tvdet.ssd.SSD(backbone, anchors, (SSD_IMAGE, SSD_IMAGE), NUM_CLASSES, head=head, image_mean=[0.5] * 3,
                     image_std=[0.5] * 3, **SSD_LIMITS)


def full(builder, image, **kwargs):
    """torchvision's own builder, random weights, no downloads."""
    return lambda: builder(weights=None, weights_backbone=None, min_size=image, max_size=image, **kwargs)


BOXES = ("boxes", "scores", "labels")
# name: (small builder, full builder, output keys, image size)
FAMILY = {
    "fasterrcnn_mobilenet_v3_large_fpn": (faster_rcnn_mobilenet_v3, full(tvdet.fasterrcnn_mobilenet_v3_large_fpn,
                                                                         FULL_IMAGE), BOXES, SMALL_IMAGE),
    "fasterrcnn_resnet50_fpn": (faster_rcnn_resnet50, full(tvdet.fasterrcnn_resnet50_fpn, FULL_IMAGE), BOXES,
                                SMALL_IMAGE),
    "fasterrcnn_resnet50_fpn_v2": (faster_rcnn_resnet50_v2, full(tvdet.fasterrcnn_resnet50_fpn_v2, FULL_IMAGE), BOXES,
                                   SMALL_IMAGE),
    "retinanet_resnet50_fpn": (retinanet, full(tvdet.retinanet_resnet50_fpn, FULL_IMAGE), BOXES, SMALL_IMAGE),
    "fcos_resnet50_fpn": (fcos, full(tvdet.fcos_resnet50_fpn, FULL_IMAGE), BOXES, SMALL_IMAGE),
    "ssd300_vgg16": (ssd300, lambda: tvdet.ssd300_vgg16(weights=None, weights_backbone=None), BOXES, SSD_IMAGE),
    "ssdlite320_mobilenet_v3_large": (ssdlite, lambda: tvdet.ssdlite320_mobilenet_v3_large(
        weights=None, weights_backbone=None), BOXES, SSD_IMAGE),
    "maskrcnn_resnet50_fpn": (mask_rcnn, full(tvdet.maskrcnn_resnet50_fpn, FULL_IMAGE), BOXES + ("masks",),
                              SMALL_IMAGE),
    "keypointrcnn_resnet50_fpn": (keypoint_rcnn, full(tvdet.keypointrcnn_resnet50_fpn, FULL_IMAGE),
                                  BOXES + ("keypoints", "keypoints_scores"), SMALL_IMAGE),
}
FULL_IMAGES = {"ssd300_vgg16": 300, "ssdlite320_mobilenet_v3_large": 320}


def calibrate(detector, image):
    """BatchNorm running statistics from a few batches of random images: the detector runs its inference path (eval)
    with only its BatchNorm layers in train mode, so the heads' BatchNorms see what the backbone really gives them."""
    detector.eval()
    norms = [m for m in detector.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a plain average over the calibration batches
        norm.train()
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for _ in range(4):
            detector(list(torch.rand(2, 3, image, image, generator=gen)))
    detector.eval()


CLASS_LOGIT_STD = 2.0  # spread scores: fewer near-ties between kept detections
BOX_DELTA_STD = 0.1  # boxes stay near their anchors, inside the image


def head_outputs(detector):
    """The layers whose outputs are class logits and box regressions (RPN, box predictor, single-stage heads)."""
    for name, module in detector.named_modules():
        if not isinstance(module, (nn.Conv2d, nn.Linear)):
            continue
        last = name.rsplit(".", 1)[-1]
        in_list = re.search(r"module_list\.\d+(\.1)?$", name) is not None  # SSD's and SSDLite's per-map outputs
        if last in ("cls_logits", "cls_score") or (in_list and "classification_head" in name):
            yield module, CLASS_LOGIT_STD, True
        elif last in ("bbox_pred", "bbox_reg") or (in_list and "regression_head" in name):
            yield module, BOX_DELTA_STD, False


def scale_heads(detector, image):
    """Scales each head output layer so that its outputs on a calibration image have the target spread (class logits
    also lose their bias: RetinaNet and FCOS start at a 0.01 prior, where every score would be about equal)."""
    layers = list(head_outputs(detector))
    outputs = {id(m): [] for m, _, _ in layers}
    hooks = [m.register_forward_hook(lambda mod, _, out: outputs[id(mod)].append(out.flatten())) for m, _, _ in layers]
    with torch.no_grad():
        for module, _, is_class in layers:
            if is_class and module.bias is not None:
                module.bias.zero_()
        detector(list(torch.rand(1, 3, image, image, generator=torch.Generator().manual_seed(5))))
        for hook in hooks:
            hook.remove()
        for module, target, _ in layers:
            factor = target / (torch.cat(outputs[id(module)]).std() + 1e-12)
            module.weight.mul_(factor)
            if module.bias is not None:
                module.bias.mul_(factor)


def build(name, size):
    small, large, keys, image = FAMILY[name]
    image = image if size == "small" else FULL_IMAGES.get(name, FULL_IMAGE)
    torch.manual_seed(0)
    detector = (small if size == "small" else large)()
    calibrate(detector, image)
    scale_heads(detector, image)
    model = Detections(detector, list(keys)).eval()
    example = torch.rand(1, 3, image, image, generator=torch.Generator().manual_seed(11))
    return model, (example,), dict(TOLERANCE)


def models():
    """name -> builder(size), the contract of every families file (bench/families_run.py)."""
    return {name: partial(build, name) for name in FAMILY}


# The family's largest model for the full-size speed check (bench/families_run.py largest); torchvision's documented parameter counts: Keypoint R-CNN 59 M, Mask R-CNN 44, Faster R-CNN v2 44, v1 42, RetinaNet 34, FCOS 32, SSD300 36, SSDlite 3.4, Faster R-CNN MobileNetV3 19.
LARGEST = {"detection": "keypointrcnn_resnet50_fpn"}

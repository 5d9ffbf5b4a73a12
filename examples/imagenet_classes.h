/* The ImageNet class names, for printing a classifier's top-5 (examples/imagenet_classes.c). */
#ifndef SHUFFLEC_EXAMPLES_IMAGENET_CLASSES_H
#define SHUFFLEC_EXAMPLES_IMAGENET_CLASSES_H

#ifdef __cplusplus
extern "C" {
#endif

#define IMAGENET_CLASSES 1000
extern const char *const imagenet_classes[IMAGENET_CLASSES];

#ifdef __cplusplus
}
#endif

#endif

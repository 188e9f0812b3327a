/* placeholder so the stage library has a source until its code lands */
typedef int avt_labels_placeholder_;
